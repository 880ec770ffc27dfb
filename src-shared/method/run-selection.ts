/**
 * A train run's selection from its scores, in one place for the job (which trains on it) and the
 * Margins page (which recomputes it from the run's config and margin set instead of storing it):
 * same options, same seed, same result.
 */
import type { TrainConfig } from '../domain/training';
import { selectPruned, type PruneOptions, type PruneResult } from './pruning';

/** The pruning options of a run whose scores (one per pool candidate) are `scores`. */
export function runPruneOptions(c: TrainConfig, scores: ArrayLike<number>): PruneOptions {
  return {
    strategy: c.strategy,
    poolSize: scores.length,
    ratio: c.prune_ratio,
    pdRatio: c.pd_ratio,
    scores,
    score: c.score,
    threshold: c.threshold,
    seed: c.seed,
    eq2Eps: c.eq2_eps ?? c.eps,
    gap: c.gap,
  };
}

export function selectForRun(c: TrainConfig, scores: ArrayLike<number>): PruneResult {
  return selectPruned(runPruneOptions(c, scores));
}

/** Histogram of `values` over fixed bins [lo, hi) (the last bin closed), one count list per group. */
export function groupedHistogram(
  values: ArrayLike<number>,
  groups: ReadonlyArray<ArrayLike<number>>,
  lo: number,
  hi: number,
  bins: number,
): { edges: number[]; counts: number[][] } {
  if (!(hi > lo)) hi = lo + 1e-6;
  const width = (hi - lo) / bins;
  const counts = groups.map(() => new Array<number>(bins).fill(0));
  groups.forEach((indices, g) => {
    for (let k = 0; k < indices.length; k++) {
      const v = values[indices[k]!]!;
      counts[g]![Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / width)))]!++;
    }
  });
  return { edges: Array.from({ length: bins + 1 }, (_, i) => lo + i * width), counts };
}

/** `k` items spread evenly over `sorted` (all of them when there are no more than k). */
export function spread<T>(sorted: readonly T[], k: number): T[] {
  if (sorted.length <= k) return sorted.slice();
  return Array.from({ length: k }, (_, i) => sorted[Math.round((i * (sorted.length - 1)) / Math.max(1, k - 1))]!);
}
