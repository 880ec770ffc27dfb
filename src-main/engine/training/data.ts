/**
 * An in-memory batch source (small subsets, tests, margin-model training): kept samples in a
 * fresh seeded permutation every epoch, the last batch partial. Deterministic for (seed, epoch).
 */
import seedrandom from 'seedrandom';
import type { BatchSource, TrainBatch } from './trainer';

export interface ArraySet {
  /** n·h·w·c floats in [0, 1]. */
  images: Float32Array;
  labels: Int32Array;
  shape: [number, number, number, number];
}

export class ArrayBatchSource implements BatchSource {
  private readonly kept: Int32Array;
  readonly batchesPerEpoch: number;

  constructor(
    readonly set: ArraySet,
    readonly batchSize: number,
    readonly seed: number,
    opts: { kept?: Int32Array | null; radii?: Float32Array | null } = {},
  ) {
    const n = set.shape[0];
    this.kept = opts.kept ?? Int32Array.from({ length: n }, (_, i) => i);
    this.radii = opts.radii ?? null;
    if (this.radii && this.radii.length !== n) throw new Error(`src-main/engine/training/data.ts: ${this.radii.length} radii for ${n} samples`);
    if (this.kept.length === 0) throw new Error('src-main/engine/training/data.ts: no samples to train on');
    this.batchesPerEpoch = Math.ceil(this.kept.length / batchSize);
  }

  private readonly radii: Float32Array | null;

  *epoch(epoch: number): Generator<TrainBatch> {
    const rng = seedrandom.alea(`${this.seed}:${epoch}`);
    const order = Int32Array.from(this.kept);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    const [, h, w, c] = this.set.shape;
    const d = h * w * c;
    for (let s = 0; s < order.length; s += this.batchSize) {
      const indices = order.subarray(s, Math.min(order.length, s + this.batchSize));
      const m = indices.length;
      const images = new Float32Array(m * d);
      const labels = new Int32Array(m);
      for (let k = 0; k < m; k++) {
        const i = indices[k]!;
        images.set(this.set.images.subarray(i * d, (i + 1) * d), k * d);
        labels[k] = this.set.labels[i]!;
      }
      const batch: TrainBatch = { images, labels, shape: [m, h, w, c], indices: Int32Array.from(indices) };
      if (this.radii) batch.radii = Float32Array.from(indices, (i) => this.radii![i]!);
      yield batch;
    }
  }
}
