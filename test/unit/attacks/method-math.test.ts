import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { epsilonForMargin, epsilonsForMargins } from '../../../src-shared/method/epsilon';
import { classificationDifficulty, el2nScores, randomScores } from '../../../src-shared/method/scores';
import { decodeNpyFloat32, readNpyFloat32, writeNpyFloat32 } from '../../../src-main/engine/margins/npy';
import { summarizeMargins } from '../../../src-main/engine/margins/summary';

describe('Eq. 2/3: epsilonForMargin', () => {
  const eps = 8 / 255;
  it('passes margins inside the ball through and clips outside (Eq. 2)', () => {
    expect(epsilonForMargin(0.01, eps)).toBeCloseTo(0.01, 12);
    expect(epsilonForMargin(-0.01, eps)).toBeCloseTo(-0.01, 12);
    expect(epsilonForMargin(0.5, eps)).toBe(eps);
    expect(epsilonForMargin(-0.5, eps)).toBe(-eps);
  });
  it('is exact at and just around the boundaries ±ε and 0', () => {
    expect(epsilonForMargin(eps, eps)).toBe(eps);
    expect(epsilonForMargin(-eps, eps)).toBe(-eps);
    expect(epsilonForMargin(eps + 1e-9, eps)).toBe(eps);
    expect(epsilonForMargin(eps - 1e-9, eps)).toBeCloseTo(eps - 1e-9, 15);
    expect(epsilonForMargin(-eps - 1e-9, eps)).toBe(-eps);
    expect(epsilonForMargin(-eps + 1e-9, eps)).toBeCloseTo(-eps + 1e-9, 15);
    expect(Object.is(epsilonForMargin(0, eps), 0)).toBe(true);
    expect(Object.is(epsilonForMargin(-0, eps), 0)).toBe(true);
  });
  it('subtracts the gap before clipping (Eq. 3)', () => {
    const gap = 1 / 255;
    expect(epsilonForMargin(gap, eps, gap)).toBe(0);
    expect(epsilonForMargin(0.02, eps, gap)).toBeCloseTo(0.02 - gap, 12);
    expect(epsilonForMargin(eps + gap, eps, gap)).toBeCloseTo(eps, 12);
    expect(epsilonForMargin(eps + 2 * gap, eps, gap)).toBe(eps);
    expect(epsilonForMargin(-eps + gap, eps, gap)).toBe(-eps);
  });
  it('vectorised version agrees with the scalar one', () => {
    const margins = [-1, -eps, -0.01, 0, 0.003, eps, 0.2];
    const out = epsilonsForMargins(margins, eps, 0.002);
    margins.forEach((m, i) => expect(out[i]).toBeCloseTo(epsilonForMargin(m, eps, 0.002), 7));
  });
  it('rejects bad parameters with the file name', () => {
    expect(() => epsilonForMargin(0.1, -1)).toThrow(/epsilon\.ts.*eps/);
    expect(() => epsilonForMargin(0.1, 0.1, -0.01)).toThrow(/epsilon\.ts.*gap/);
    expect(() => epsilonsForMargins([0, NaN], 0.1)).toThrow(/epsilon\.ts.*margin 1 is NaN/);
  });
});

describe('baseline scores', () => {
  it('classification difficulty is the fraction of epochs misclassified', () => {
    const cd = classificationDifficulty([
      [1, 0, 1, 0],
      [1, 0, 0, 1],
      [true, false, false, false],
      [1, 0, 1, 1],
    ]);
    expect(Array.from(cd)).toEqual([0, 1, 0.5, 0.5]);
    expect(() => classificationDifficulty([[1, 0], [1]])).toThrow(/scores\.ts.*epoch 1/);
    expect(() => classificationDifficulty([])).toThrow(/scores\.ts/);
  });
  it('EL2N averages ‖softmax − onehot‖₂ over the ensemble', () => {
    // Model A: uniform over 2 classes → ‖(0.5−1, 0.5)‖ = √0.5; model B: confident correct → ≈ 0.
    const a = [0, 0];
    const b = [50, 0];
    const scores = el2nScores([a, b], [0], 2);
    expect(scores[0]).toBeCloseTo(Math.sqrt(0.5) / 2, 6);
    const wrong = el2nScores([[0, 50]], [0], 2);
    expect(wrong[0]).toBeCloseTo(Math.SQRT2, 6);
    expect(() => el2nScores([[0, 0, 0]], [0], 2)).toThrow(/scores\.ts.*model 0/);
    expect(() => el2nScores([[0, 0]], [2], 2)).toThrow(/scores\.ts.*label 0/);
  });
  it('random scores are reproducible per seed and uniform-ish', () => {
    const a = randomScores(1000, 7);
    const b = randomScores(1000, 7);
    const c = randomScores(1000, 8);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
    expect(Math.min(...a)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...a)).toBeLessThan(1);
  });
});

describe('summarizeMargins', () => {
  it('reports count, mean, NumPy-style quantiles and fractions with the CLI keys', () => {
    const m = Float32Array.from({ length: 101 }, (_, i) => (i - 20) / 100); // −0.2 … 0.8
    const s = summarizeMargins(m, 0.05);
    expect(Object.keys(s)).toEqual(['count', 'mean', 'quantiles', 'fraction_negative', 'fraction_below_eps']);
    expect(Object.keys(s.quantiles)).toEqual(['p01', 'p10', 'p50', 'p90', 'p99']);
    expect(s.count).toBe(101);
    expect(s.mean).toBeCloseTo(0.3, 6);
    expect(s.quantiles.p50).toBeCloseTo(0.3, 6);
    expect(s.quantiles.p01).toBeCloseTo(-0.19, 6);
    expect(s.quantiles.p10).toBeCloseTo(-0.1, 6);
    expect(s.quantiles.p90).toBeCloseTo(0.7, 6);
    expect(s.quantiles.p99).toBeCloseTo(0.79, 6);
    expect(s.fraction_negative).toBeCloseTo(20 / 101, 12);
    expect(s.fraction_below_eps).toBeCloseTo(25 / 101, 12);
    expect(summarizeMargins(m).fraction_below_eps).toBeNull();
  });
  it('interpolates between order statistics', () => {
    const s = summarizeMargins(Float32Array.from([0, 1]));
    expect(s.quantiles.p10).toBeCloseTo(0.1, 6);
    expect(s.quantiles.p99).toBeCloseTo(0.99, 6);
  });
  it('rejects empty and NaN input', () => {
    expect(() => summarizeMargins(new Float32Array(0))).toThrow(/summary\.ts.*empty/);
    expect(() => summarizeMargins(Float32Array.from([0, NaN]))).toThrow(/summary\.ts.*NaN/);
  });
});

describe('.npy float32 writer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'puma-npy-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('writes a NumPy 1.0 header aligned to 64 bytes and the little-endian data', () => {
    const data = Float32Array.from([1.5, -2, 0, 3.25, 1e-7]);
    const file = join(dir, 'm.npy');
    writeNpyFloat32(file, data);
    const bytes = readFileSync(file);
    expect(Array.from(bytes.subarray(0, 8))).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    const headerLength = bytes.readUInt16LE(8);
    expect((10 + headerLength) % 64).toBe(0);
    const header = bytes.subarray(10, 10 + headerLength).toString('latin1');
    expect(header).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(5,\), \} *\n$/);
    expect(bytes.length).toBe(10 + headerLength + 20);
    expect(bytes.readFloatLE(10 + headerLength + 12)).toBe(3.25);
    const back = readNpyFloat32(file);
    expect(back.shape).toEqual([5]);
    expect(Array.from(back.data)).toEqual(Array.from(data));
  });
  it('supports 2-D shapes and rejects inconsistent ones', () => {
    const file = join(dir, 'm2.npy');
    writeNpyFloat32(file, Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
    expect(readNpyFloat32(file).shape).toEqual([2, 3]);
    expect(() => writeNpyFloat32(file, Float32Array.from([1, 2]), [3])).toThrow(/npy\.ts.*shape/);
    expect(() => decodeNpyFloat32(Uint8Array.from([1, 2, 3]), 'x.npy')).toThrow(/npy\.ts: x\.npy: not a \.npy/);
  });
});
