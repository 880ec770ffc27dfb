import seedrandom from 'seedrandom';
import type { SplitReader } from './reader';

export interface PoolOptions {
  batchSize: number;
  /** Share of each batch drawn from the generated set (when there is one); default 0.7. */
  generatedShare?: number;
  /** Samples per "epoch"; default: every kept training original once (or every kept generated one). */
  samplesPerEpoch?: number;
  /** The first `validationCount` originals are held out of training (DM-Improves-AT uses 1024). */
  validationCount?: number;
  /** Random crop with zero padding + horizontal flip; default on for colour, off for 1-channel (MNIST-like) data. */
  augment?: boolean;
  /** Crop padding in pixels (default 4). */
  padding?: number;
  seed?: number;
  /** Pruning mask: the pool indices kept (originals 0..N-1, generated N..N+M-1). */
  kept?: ArrayLike<number>;
  /** Per-sample training radius ε_i, indexed by pool index. */
  radii?: Float32Array;
  /** Per-sample loss weight, indexed by pool index. */
  weights?: Float32Array;
}

export interface PoolBatch {
  /** n × H × W × C floats in [0, 1]. */
  images: Float32Array;
  shape: [number, number, number, number];
  labels: Int32Array;
  /** Pool index of each sample: an original's index, or N + the generated sample's index. */
  indices: Int32Array;
  radii?: Float32Array;
  weights?: Float32Array;
}

const TO_UNIT = Float32Array.from({ length: 256 }, (_, i) => i / 255);

/**
 * Mixes original and generated samples as in the recipe the paper builds on: each batch holds
 * round(bs·share) generated samples drawn uniformly with replacement and the rest originals drawn
 * without replacement (a fresh permutation whenever one runs out). Every epoch is deterministic
 * for (seed, epoch), whatever was drawn before.
 */
export class TrainingPool {
  readonly originalCount: number;
  readonly generatedCount: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly batchSize: number;
  readonly samplesPerEpoch: number;
  readonly augment: boolean;
  private readonly trainOriginals: Int32Array;
  private readonly keptGenerated: Int32Array;
  private readonly validationCount: number;
  private readonly genPerBatch: number;
  private readonly opts: PoolOptions;
  private readonly scratch: Uint8Array;

  constructor(
    private readonly original: SplitReader,
    private readonly generated: SplitReader | null,
    opts: PoolOptions,
  ) {
    this.opts = opts;
    this.originalCount = original.count;
    this.generatedCount = generated?.count ?? 0;
    [this.height, this.width, this.channels] = [original.height, original.width, original.channels];
    if (generated && (generated.height !== this.height || generated.width !== this.width || generated.channels !== this.channels)) {
      throw new Error(
        `generated images are ${generated.height}×${generated.width}×${generated.channels}, originals ${this.height}×${this.width}×${this.channels}`,
      );
    }
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new Error(`batch size must be a positive integer, got ${opts.batchSize}`);
    this.batchSize = opts.batchSize;
    this.validationCount = Math.min(opts.validationCount ?? 0, this.originalCount);
    const poolSize = this.originalCount + this.generatedCount;
    for (const [name, arr] of [
      ['radii', opts.radii],
      ['weights', opts.weights],
    ] as const) {
      if (arr && arr.length !== poolSize) throw new Error(`${name} has ${arr.length} entries; the pool has ${poolSize} samples`);
    }
    let keep: Uint8Array;
    if (opts.kept) {
      keep = new Uint8Array(poolSize);
      for (let i = 0; i < opts.kept.length; i++) {
        const k = opts.kept[i];
        if (!Number.isInteger(k) || k < 0 || k >= poolSize) throw new Error(`kept index ${k} is outside the pool (0..${poolSize - 1})`);
        keep[k] = 1;
      }
    } else keep = new Uint8Array(poolSize).fill(1);
    const orig: number[] = [];
    for (let i = this.validationCount; i < this.originalCount; i++) if (keep[i]) orig.push(i);
    const gen: number[] = [];
    for (let j = 0; j < this.generatedCount; j++) if (keep[this.originalCount + j]) gen.push(j);
    this.trainOriginals = Int32Array.from(orig);
    this.keptGenerated = Int32Array.from(gen);
    if (!orig.length && !gen.length) throw new Error('the training pool is empty (everything pruned or held out)');
    const share = gen.length ? (orig.length ? (opts.generatedShare ?? 0.7) : 1) : 0;
    if (share < 0 || share > 1) throw new Error(`generated share must be in [0, 1], got ${share}`);
    this.genPerBatch = Math.round(this.batchSize * share);
    if (this.genPerBatch < this.batchSize && !orig.length) throw new Error('no original samples left for the original share of each batch');
    this.samplesPerEpoch = opts.samplesPerEpoch ?? (orig.length || gen.length);
    this.augment = opts.augment ?? this.channels !== 1;
    this.scratch = new Uint8Array(this.height * this.width * this.channels);
  }

  get batchesPerEpoch(): number {
    return Math.ceil(this.samplesPerEpoch / this.batchSize);
  }

  /** Training batches of one epoch. */
  *epoch(epoch: number): Generator<PoolBatch> {
    const rng = seedrandom.alea(`${this.opts.seed ?? 0}:${epoch}`);
    const origs = this.trainOriginals;
    const perm = new Int32Array(origs.length);
    let permPos = perm.length;
    const nextOriginal = () => {
      if (permPos >= perm.length) {
        perm.set(origs);
        for (let i = perm.length - 1; i > 0; i--) {
          const j = Math.floor(rng() * (i + 1));
          const x = perm[i];
          perm[i] = perm[j];
          perm[j] = x;
        }
        permPos = 0;
      }
      return perm[permPos++];
    };
    const mixed = this.genPerBatch > 0;
    for (let b = 0; b < this.batchesPerEpoch; b++) {
      // with generated data every batch is full (fixed shares); without, the last one is partial
      const size = mixed ? this.batchSize : Math.min(this.batchSize, this.samplesPerEpoch - b * this.batchSize);
      const nGen = mixed ? Math.min(this.genPerBatch, size) : 0;
      const indices = new Int32Array(size);
      for (let i = 0; i < size - nGen; i++) indices[i] = nextOriginal();
      for (let i = size - nGen; i < size; i++) {
        indices[i] = this.originalCount + this.keptGenerated[Math.floor(rng() * this.keptGenerated.length)];
      }
      yield this.makeBatch(indices, this.augment ? rng : null);
    }
  }

  /** The held-out originals (the first `validationCount`), in order, without augmentation. */
  *validation(batchSize = this.batchSize): Generator<PoolBatch> {
    for (let s = 0; s < this.validationCount; s += batchSize) {
      const n = Math.min(batchSize, this.validationCount - s);
      yield this.makeBatch(
        Int32Array.from({ length: n }, (_, i) => s + i),
        null,
      );
    }
  }

  private imageOf(poolIndex: number): Uint8Array {
    const [reader, i] = poolIndex < this.originalCount ? [this.original, poolIndex] : [this.generated!, poolIndex - this.originalCount];
    return reader.memoryView(i) ?? reader.readRange(i, 1, this.scratch);
  }

  private makeBatch(indices: Int32Array, rng: (() => number) | null): PoolBatch {
    const { height: h, width: w, channels: c } = this;
    const n = indices.length;
    const imgSize = h * w * c;
    const images = new Float32Array(n * imgSize);
    const labels = new Int32Array(n);
    const pad = this.opts.padding ?? 4;
    for (let k = 0; k < n; k++) {
      const p = indices[k];
      labels[k] = p < this.originalCount ? this.original.labels[p] : this.generated!.labels[p - this.originalCount];
      const src = this.imageOf(p);
      const out = k * imgSize;
      if (!rng) {
        for (let i = 0; i < imgSize; i++) images[out + i] = TO_UNIT[src[i]];
        continue;
      }
      // crop offsets in [-pad, pad]; pixels from the zero padding stay 0
      const dy = Math.floor(rng() * (2 * pad + 1)) - pad;
      const dx = Math.floor(rng() * (2 * pad + 1)) - pad;
      const flip = rng() < 0.5;
      for (let y = 0; y < h; y++) {
        const sy = y + dy;
        if (sy < 0 || sy >= h) continue;
        const rowOut = out + y * w * c;
        const rowIn = sy * w * c;
        for (let x = 0; x < w; x++) {
          const sx = (flip ? w - 1 - x : x) + dx;
          if (sx < 0 || sx >= w) continue;
          const o = rowOut + x * c;
          const s = rowIn + sx * c;
          for (let ch = 0; ch < c; ch++) images[o + ch] = TO_UNIT[src[s + ch]];
        }
      }
    }
    const pick = (arr: Float32Array | undefined) => (arr ? Float32Array.from(indices, (i) => arr[i]) : undefined);
    return { images, shape: [n, h, w, c], labels, indices, radii: pick(this.opts.radii), weights: pick(this.opts.weights) };
  }
}
