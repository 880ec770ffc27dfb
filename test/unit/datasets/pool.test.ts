import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrainingPool } from '../../../src-main/services/datasets/pool';
import type { SplitReader } from '../../../src-main/services/datasets/reader';
import { tempService } from './helpers';
import { int64Labels, npyFile, pseudoBytes, write, zipFile } from './writers';

const H = 8,
  W = 8,
  C = 3,
  IMG = H * W * C;
let t: ReturnType<typeof tempService>;
let orig: SplitReader, gen: SplitReader, origDisk: SplitReader, gray: SplitReader;
let origPixels: Uint8Array, genPixels: Uint8Array;
const origLabels = Array.from({ length: 50 }, (_, i) => i % 10);
const genLabels = Array.from({ length: 30 }, (_, i) => (i * 3) % 10);

beforeAll(async () => {
  t = tempService();
  origPixels = pseudoBytes(50 * IMG, 11);
  genPixels = pseudoBytes(30 * IMG, 12);
  const mk = (name: string, px: Uint8Array, labels: number[], shape = [H, W, C]) =>
    write(
      t.dir,
      name,
      zipFile({ 'image.npy': npyFile('|u1', [labels.length, ...shape], px), 'label.npy': npyFile('<i8', [labels.length], int64Labels(labels)) }),
    );
  const o = await t.service.importDataset({ path: mk('o.npz', origPixels, origLabels), name: 'orig' });
  const g = await t.service.importDataset({ path: mk('g.npz', genPixels, genLabels), name: 'gen', generatedFor: o.id });
  const m = await t.service.importDataset({ path: mk('m.npz', pseudoBytes(20 * 16, 13), origLabels.slice(0, 20), [4, 4, 1]), name: 'gray' });
  orig = t.service.openSplit(o.id, 'train');
  origDisk = t.service.openSplit(o.id, 'train', { preload: false });
  gen = t.service.openSplit(g.id, 'train');
  gray = t.service.openSplit(m.id, 'train');
});
afterAll(() => {
  for (const r of [orig, gen, origDisk, gray]) r.close();
  t.cleanup();
});

function sourceImage(poolIndex: number): Uint8Array {
  return poolIndex < 50 ? origPixels.subarray(poolIndex * IMG, (poolIndex + 1) * IMG) : genPixels.subarray((poolIndex - 50) * IMG, (poolIndex - 49) * IMG);
}

/** The image after a crop offset (dy, dx) in [-pad, pad] with zero padding, then an optional flip. */
function augmented(src: Uint8Array, dy: number, dx: number, flip: boolean): Float32Array {
  const out = new Float32Array(IMG);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const sy = y + dy,
        sx = (flip ? W - 1 - x : x) + dx;
      if (sy < 0 || sy >= H || sx < 0 || sx >= W) continue;
      for (let c = 0; c < C; c++) out[(y * W + x) * C + c] = src[(sy * W + sx) * C + c] / 255;
    }
  return out;
}

describe('TrainingPool', () => {
  it('mixes 0.3 original / 0.7 generated per batch; originals without replacement', () => {
    const pool = new TrainingPool(orig, gen, { batchSize: 10, samplesPerEpoch: 120, seed: 1, augment: false });
    const batches = [...pool.epoch(0)];
    expect(batches).toHaveLength(12);
    const seenOrig: number[] = [];
    for (const b of batches) {
      expect(b.shape).toEqual([10, H, W, C]);
      const idx = Array.from(b.indices);
      expect(idx.filter((i) => i < 50)).toHaveLength(3);
      expect(idx.filter((i) => i >= 50 && i < 80)).toHaveLength(7);
      seenOrig.push(...idx.filter((i) => i < 50));
      for (let k = 0; k < 10; k++) {
        const p = idx[k];
        expect(b.labels[k]).toBe(p < 50 ? origLabels[p] : genLabels[p - 50]);
        const src = sourceImage(p);
        for (let i = 0; i < IMG; i += 17) expect(b.images[k * IMG + i]).toBeCloseTo(src[i] / 255, 6);
      }
    }
    // 36 originals drawn: the first 50-permutation is not exhausted, so all are distinct
    expect(new Set(seenOrig).size).toBe(36);
  });

  it('is deterministic for a seed and epoch, and differs between epochs and seeds', () => {
    const a = new TrainingPool(orig, gen, { batchSize: 16, seed: 7 });
    const b = new TrainingPool(origDisk, gen, { batchSize: 16, seed: 7 });
    const first = [...a.epoch(3)];
    const again = [...b.epoch(3)];
    expect(again.map((x) => Array.from(x.indices))).toEqual(first.map((x) => Array.from(x.indices)));
    expect(Buffer.compare(Buffer.from(again[0].images.buffer), Buffer.from(first[0].images.buffer))).toBe(0);
    expect([...a.epoch(4)][0].indices).not.toEqual(first[0].indices);
    expect([...new TrainingPool(orig, gen, { batchSize: 16, seed: 8 }).epoch(3)][0].indices).not.toEqual(first[0].indices);
  });

  it('augments by a random crop with padding 4 and a horizontal flip', () => {
    const pool = new TrainingPool(orig, gen, { batchSize: 32, seed: 3 });
    expect(pool.augment).toBe(true);
    let flips = 0;
    let shifted = 0;
    for (const b of pool.epoch(0)) {
      for (let k = 0; k < b.indices.length; k++) {
        const got = b.images.subarray(k * IMG, (k + 1) * IMG);
        const src = sourceImage(b.indices[k]);
        let match: [number, number, boolean] | null = null;
        for (let dy = -4; dy <= 4 && !match; dy++)
          for (let dx = -4; dx <= 4 && !match; dx++)
            for (const flip of [false, true]) {
              const want = augmented(src, dy, dx, flip);
              if (want.every((v, i) => Math.abs(v - got[i]) < 1e-6)) {
                match = [dy, dx, flip];
                break;
              }
            }
        expect(match, `batch image ${k} is a crop/flip of sample ${b.indices[k]}`).not.toBeNull();
        if (match![2]) flips++;
        if (match![0] || match![1]) shifted++;
        for (const v of got) expect(v >= 0 && v <= 1).toBe(true);
      }
    }
    expect(flips).toBeGreaterThan(5);
    expect(shifted).toBeGreaterThan(20);
  });

  it('applies a pruning mask to the whole pool and carries radii and weights', () => {
    const kept = [...Array.from({ length: 25 }, (_, i) => 2 * i), 50, 51, 52];
    const radii = Float32Array.from({ length: 80 }, (_, i) => (i % 9) / 255 - 2 / 255);
    const weights = Float32Array.from({ length: 80 }, (_, i) => i);
    const pool = new TrainingPool(orig, gen, { batchSize: 8, seed: 2, kept, radii, weights, samplesPerEpoch: 200 });
    const keptSet = new Set(kept);
    for (const b of pool.epoch(0)) {
      for (let k = 0; k < b.indices.length; k++) {
        const p = b.indices[k];
        expect(keptSet.has(p)).toBe(true);
        expect(b.radii![k]).toBe(radii[p]);
        expect(b.weights![k]).toBe(p);
      }
    }
  });

  it('holds out the first originals as a validation split', () => {
    const pool = new TrainingPool(orig, null, { batchSize: 7, validationCount: 12, seed: 5 });
    expect(pool.samplesPerEpoch).toBe(38);
    const train = [...pool.epoch(0)];
    expect(train.map((b) => b.indices.length)).toEqual([7, 7, 7, 7, 7, 3]);
    // without generated data an epoch is one pass over the kept training originals
    expect(train.flatMap((b) => Array.from(b.indices)).sort((a, b) => a - b)).toEqual(Array.from({ length: 38 }, (_, i) => i + 12));
    const val = [...pool.validation(5)];
    expect(val.flatMap((b) => Array.from(b.indices))).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(val[0].images[0]).toBeCloseTo(origPixels[0] / 255, 6);
  });

  it('does not augment one-channel (MNIST-like) data unless asked', () => {
    const pool = new TrainingPool(gray, null, { batchSize: 20, seed: 1 });
    expect(pool.augment).toBe(false);
    const [b] = [...pool.epoch(0)];
    expect(b.shape).toEqual([20, 4, 4, 1]);
    expect(new TrainingPool(gray, null, { batchSize: 4, augment: true }).augment).toBe(true);
  });

  it('refuses inconsistent options', () => {
    expect(() => new TrainingPool(orig, gen, { batchSize: 4, kept: [80] })).toThrow(/kept index 80 is outside the pool \(0\.\.79\)/);
    expect(() => new TrainingPool(orig, gen, { batchSize: 4, radii: new Float32Array(50) })).toThrow(/radii has 50 entries; the pool has 80/);
    expect(() => new TrainingPool(orig, gray, { batchSize: 4 })).toThrow(/generated images are 4×4×1/);
    expect(() => new TrainingPool(orig, null, { batchSize: 0 })).toThrow(/batch size/);
  });
});
