import { describe, expect, it } from 'vitest';
import { epsilonForMargin } from '../../../src-shared/method/epsilon';
import { selectPruned } from '../../../src-shared/method/pruning';
import { parseTrainConfig } from '../../../src-shared/domain/training';

describe('Eq. 2 / Eq. 3 radii at and around the boundaries', () => {
  const eps = 8 / 255;
  it('Eq. 2 clips the margin to [−ε, ε]', () => {
    expect(epsilonForMargin(eps, eps)).toBeCloseTo(eps, 12);
    expect(epsilonForMargin(eps + 1e-6, eps)).toBeCloseTo(eps, 12);
    expect(epsilonForMargin(eps - 1e-6, eps)).toBeCloseTo(eps - 1e-6, 12);
    expect(epsilonForMargin(-eps, eps)).toBeCloseTo(-eps, 12);
    expect(epsilonForMargin(-eps - 1e-6, eps)).toBeCloseTo(-eps, 12);
    expect(epsilonForMargin(-eps + 1e-6, eps)).toBeCloseTo(-eps + 1e-6, 12);
    expect(Object.is(epsilonForMargin(0, eps), 0)).toBe(true);
    expect(epsilonForMargin(1, eps)).toBe(eps);
    expect(epsilonForMargin(-1, eps)).toBe(-eps);
  });
  it('Eq. 3 subtracts the gap before clipping', () => {
    const g = 1 / 255;
    expect(epsilonForMargin(eps + g, eps, g)).toBeCloseTo(eps, 12);
    expect(epsilonForMargin(eps + g - 1e-6, eps, g)).toBeCloseTo(eps - 1e-6, 12);
    expect(epsilonForMargin(g, eps, g)).toBeCloseTo(0, 12);
    expect(epsilonForMargin(g - 1e-6, eps, g)).toBeLessThan(0);
    expect(epsilonForMargin(-eps + g, eps, g)).toBeCloseTo(-eps, 12);
    expect(epsilonForMargin(-eps + g + 1e-6, eps, g)).toBeCloseTo(-eps + 1e-6, 12);
  });
});

describe('pruning strategies', () => {
  const margins = Float32Array.from([0.5, -0.2, 0.05, 0.3, 0.01, -0.01, 0.2, 0.1, 0.08, 0.02]);
  const n = margins.length;
  it('none keeps everything; random is seeded and removes the ratio', () => {
    expect(selectPruned({ strategy: 'none', poolSize: n, ratio: 0.5 }).kept.length).toBe(n);
    const a = selectPruned({ strategy: 'random', poolSize: 100, ratio: 0.2, seed: 3 });
    const b = selectPruned({ strategy: 'random', poolSize: 100, ratio: 0.2, seed: 3 });
    const c = selectPruned({ strategy: 'random', poolSize: 100, ratio: 0.2, seed: 4 });
    expect(a.kept.length).toBe(80);
    expect(Array.from(a.kept)).toEqual(Array.from(b.kept));
    expect(Array.from(a.kept)).not.toEqual(Array.from(c.kept));
  });
  it('PE removes the highest margins, PD the lowest, PE+PD both', () => {
    const pe = selectPruned({ strategy: 'pe', poolSize: n, ratio: 0.2, scores: margins });
    expect(Array.from(pe.kept)).toEqual([1, 2, 4, 5, 6, 7, 8, 9]); // 0.5 and 0.3 gone
    const pd = selectPruned({ strategy: 'pd', poolSize: n, ratio: 0.2, scores: margins });
    expect(Array.from(pd.kept)).toEqual([0, 2, 3, 4, 6, 7, 8, 9]); // −0.2 and −0.01 gone
    const both = selectPruned({ strategy: 'pe_pd', poolSize: n, ratio: 0.1, pdRatio: 0.1, scores: margins });
    expect(Array.from(both.kept)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
  });
  it('CD: PE removes the lowest CD, PD the highest; thresholds', () => {
    const cd = Float32Array.from([0, 1, 0.5, 0, 0.01, 1, 0.2, 0.3, 0, 0.9]);
    const pe = selectPruned({ strategy: 'pe', poolSize: n, ratio: 0.3, scores: cd, score: 'cd' });
    expect(Array.from(pe.kept).some((i) => cd[i] === 0)).toBe(false);
    const pdThreshold = selectPruned({ strategy: 'pd', poolSize: n, ratio: 0, scores: cd, score: 'cd', threshold: 1 });
    expect(Array.from(pdThreshold.kept)).toEqual([0, 2, 3, 4, 6, 7, 8, 9]);
    const peThreshold = selectPruned({ strategy: 'pe', poolSize: n, ratio: 0, scores: cd, score: 'cd', threshold: 0.02 });
    expect(Array.from(peThreshold.kept)).toEqual([1, 2, 5, 6, 7, 9]);
    const belowEps = selectPruned({ strategy: 'pd', poolSize: n, ratio: 0, scores: margins, threshold: 0.05 });
    expect(Array.from(belowEps.kept).every((i) => margins[i]! >= 0.05)).toBe(true);
  });
  it('PUMA = PE by margin + ε_i from Eq. 3 for every pool sample', () => {
    const r = selectPruned({ strategy: 'puma', poolSize: n, ratio: 0.2, scores: margins, eq2Eps: 0.1, gap: 0.01 });
    expect(Array.from(r.kept)).toEqual([1, 2, 4, 5, 6, 7, 8, 9]);
    expect(r.radii![1]).toBeCloseTo(-0.1, 6); // −0.21 clipped
    expect(r.radii![4]).toBeCloseTo(0, 6);
    expect(r.radii![5]).toBeCloseTo(-0.02, 6); // anti-adversarial
    expect(r.radii![7]).toBeCloseTo(0.09, 6);
    expect(r.radii![6]).toBeCloseTo(0.1, 6);
  });
  it('rejects bad input with a message naming the file', () => {
    expect(() => selectPruned({ strategy: 'pe', poolSize: n, ratio: 0.2 })).toThrow(/pruning\.ts.*needs a score/);
    expect(() => selectPruned({ strategy: 'pe', poolSize: n, ratio: 0.2, scores: [1, 2] })).toThrow(/2 scores for a pool of 10/);
    expect(() => selectPruned({ strategy: 'puma', poolSize: n, ratio: 0.2, scores: margins })).toThrow(/eq2Eps/);
  });
});

describe('each strategy against a sort-based reference (200 distinct margins)', () => {
  const n = 200;
  // Distinct margins in [−0.3, 0.5] in a scrambled order (i·37 mod 200 is a permutation).
  const margins = Float32Array.from({ length: n }, (_, i) => -0.3 + ((i * 37) % n) * 0.004);
  const byMargin = Array.from({ length: n }, (_, i) => i).sort((a, b) => margins[a]! - margins[b]!);
  const sorted = (xs: Iterable<number>) => Array.from(xs).sort((a, b) => a - b);
  const without = (removed: number[]) => sorted(Array.from({ length: n }, (_, i) => i).filter((i) => !removed.includes(i)));

  it('random: removes round(r·n) distinct samples, depends on the seed only', () => {
    const r = selectPruned({ strategy: 'random', poolSize: n, ratio: 0.3, seed: 11, scores: margins });
    expect(r.kept.length).toBe(140);
    expect(r.removed).toBe(60);
    expect(new Set(r.kept).size).toBe(140);
    expect(Array.from(r.kept)).toEqual(sorted(r.kept));
    expect(r.radii).toBeNull();
    // Not a margin-based choice: the removed set holds both easy and difficult samples.
    const keptSet = new Set(r.kept);
    const removed = byMargin.filter((i) => !keptSet.has(i));
    expect(Math.min(...removed.map((i) => byMargin.indexOf(i)))).toBeLessThan(n / 2);
    expect(Math.max(...removed.map((i) => byMargin.indexOf(i)))).toBeGreaterThanOrEqual(n / 2);
  });
  it('pe: removes the r·n highest margins', () => {
    const r = selectPruned({ strategy: 'pe', poolSize: n, ratio: 0.25, scores: margins });
    expect(Array.from(r.kept)).toEqual(without(byMargin.slice(n - 50)));
  });
  it('pd: removes the r·n lowest margins', () => {
    const r = selectPruned({ strategy: 'pd', poolSize: n, ratio: 0.15, scores: margins });
    expect(Array.from(r.kept)).toEqual(without(byMargin.slice(0, 30)));
  });
  it('pe_pd: removes both ends, prune_ratio from the easy end and pd_ratio from the difficult end', () => {
    const r = selectPruned({ strategy: 'pe_pd', poolSize: n, ratio: 0.2, pdRatio: 0.1, scores: margins });
    expect(Array.from(r.kept)).toEqual(without([...byMargin.slice(0, 20), ...byMargin.slice(n - 40)]));
    expect(() => selectPruned({ strategy: 'pe_pd', poolSize: n, ratio: 0.6, pdRatio: 0.4, scores: margins })).toThrow(/leaves nothing/);
  });
  it('threshold: pe+margin removes m > t, pd+margin removes m < ε, pe+cd removes CD < t, pd+cd removes CD ≥ t', () => {
    const pe = selectPruned({ strategy: 'pe', poolSize: n, ratio: 0, scores: margins, threshold: 0.3 });
    expect(Array.from(pe.kept)).toEqual(sorted(byMargin.filter((i) => margins[i]! <= 0.3)));
    const eps = 0.1;
    const pd = selectPruned({ strategy: 'pd', poolSize: n, ratio: 0, scores: margins, threshold: eps });
    expect(Array.from(pd.kept)).toEqual(sorted(byMargin.filter((i) => margins[i]! >= eps)));
    const cd = Float32Array.from({ length: n }, (_, i) => ((i * 13) % 11) / 10);
    const peCd = selectPruned({ strategy: 'pe', poolSize: n, ratio: 0, scores: cd, score: 'cd', threshold: 0.02 });
    expect(Array.from(peCd.kept)).toEqual(Array.from({ length: n }, (_, i) => i).filter((i) => cd[i]! >= 0.02));
    const pdCd = selectPruned({ strategy: 'pd', poolSize: n, ratio: 0, scores: cd, score: 'cd', threshold: 1 });
    expect(Array.from(pdCd.kept)).toEqual(Array.from({ length: n }, (_, i) => i).filter((i) => cd[i]! < 1));
  });
});

describe('TrainConfig', () => {
  it('fills defaults, reads fractions and names bad keys', () => {
    const c = parseTrainConfig({ eps: '8/255', strategy: 'puma', prune_ratio: 0.2 });
    expect(c.eps).toBeCloseTo(8 / 255, 12);
    expect(c.method).toBe('trades');
    expect(c.eq2_eps).toBeNull();
    expect(() => parseTrainConfig({ strategy: 'bogus' }, 'my.json')).toThrow(/my\.json.*strategy/);
    expect(() => parseTrainConfig({ epoch: 3 }, 'my.json')).toThrow(/my\.json/);
  });
});
