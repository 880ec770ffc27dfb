import { describe, expect, it } from 'vitest';
import { parseTrainConfig } from '../../../src-shared/domain/training';
import { selectPruned } from '../../../src-shared/method/pruning';
import { groupedHistogram, runPruneOptions, selectForRun, spread } from '../../../src-shared/method/run-selection';

describe("a run's selection", () => {
  const margins = Float32Array.from({ length: 50 }, (_, i) => (i % 10) / 40 - 0.05); // −0.05 … 0.175, ten of each

  it('prunes round(r·pool) highest margins for PUMA and gives the kept ones ε_i = clip(m − g, −ε, ε)', () => {
    const c = parseTrainConfig({ strategy: 'puma', prune_ratio: 0.3, eps: 0.1, gap: 0.01, seed: 4 }, 'test');
    const r = selectForRun(c, margins);
    expect(r.kept.length).toBe(50 - Math.round(0.3 * 50));
    const keptMax = Math.max(...Array.from(r.kept, (k) => margins[k]!));
    const prunedMin = Math.min(
      ...Array.from({ length: 50 }, (_, k) => k)
        .filter((k) => !r.kept.includes(k))
        .map((k) => margins[k]!),
    );
    expect(prunedMin).toBeGreaterThanOrEqual(keptMax);
    for (const k of r.kept) expect(r.radii![k]).toBeCloseTo(Math.min(0.1, Math.max(-0.1, margins[k]! - 0.01)), 6);
    // Same options as the job's call: identical result for the same seed.
    expect(Array.from(selectPruned(runPruneOptions(c, margins)).kept)).toEqual(Array.from(r.kept));
  });

  it("uses eq2_eps for the radii when set, and the run's seed for ties", () => {
    const c = parseTrainConfig({ strategy: 'puma', prune_ratio: 0.5, eps: 0.1, eq2_eps: 0.02 }, 'test');
    const r = selectForRun(c, margins);
    expect(Math.max(...Array.from(r.kept, (k) => r.radii![k]!))).toBeCloseTo(0.02, 6);
    const a = selectForRun(parseTrainConfig({ strategy: 'puma', prune_ratio: 0.25, seed: 1 }, 'test'), margins);
    const b = selectForRun(parseTrainConfig({ strategy: 'puma', prune_ratio: 0.25, seed: 2 }, 'test'), margins);
    // round(0.25 · 50) = 13 pruned: the ten 0.175s and three of the ten tied 0.15s, chosen by the seed.
    expect(a.kept.length).toBe(b.kept.length);
    expect(Array.from(a.kept)).not.toEqual(Array.from(b.kept));
  });
});

describe('groupedHistogram', () => {
  it('counts each group over the same bins, the top edge in the last bin', () => {
    const values = [0, 0.1, 0.2, 0.3, 0.4, 1];
    const h = groupedHistogram(
      values,
      [
        [0, 1, 5],
        [2, 3, 4],
      ],
      0,
      1,
      4,
    );
    expect(h.edges).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(h.counts).toEqual([
      [2, 0, 0, 1],
      [1, 2, 0, 0],
    ]);
  });
});

describe('spread', () => {
  it('keeps both ends and spaces the rest evenly', () => {
    expect(spread([0, 1, 2, 3, 4, 5, 6, 7, 8], 3)).toEqual([0, 4, 8]);
    expect(spread([1, 2], 5)).toEqual([1, 2]);
    expect(spread([7, 8, 9], 1)).toEqual([7]);
  });
});
