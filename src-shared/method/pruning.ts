/**
 * Pruning strategies (docs/METHOD.md §2): a score per pool sample → the kept pool indices and, for
 * PUMA, a per-sample training radius ε_i (Eq. 2/3). Pure; the pool is original + generated data.
 *
 * Conventions: the margin is "high = easy"; CD is "high = difficult". Ties are broken by a seeded
 * random order so equal scores (CD = 0 for most samples) are not pruned by position.
 */
import type { PruningScore, PruningStrategy } from '../domain/training';
import { epsilonsForMargins } from './epsilon';
import { SeededRandom } from './random';

const FILE = 'src-shared/method/pruning.ts';

export interface PruneOptions {
  strategy: PruningStrategy;
  poolSize: number;
  /** Share removed (pe, pd, random, puma; the easy end for pe_pd). */
  ratio: number;
  /** pe_pd: share removed from the difficult end. */
  pdRatio?: number;
  /** Margins (score = margin) or CD values (score = cd), one per pool sample. */
  scores?: ArrayLike<number> | null;
  score?: PruningScore;
  /** Threshold form for pe / pd (see TrainConfig.threshold); replaces the ratio. */
  threshold?: number | null;
  seed?: number;
  /** PUMA: the ε of Eq. 2 and the gap g of Eq. 3. */
  eq2Eps?: number;
  gap?: number;
}

export interface PruneResult {
  /** Kept pool indices, ascending. */
  kept: Int32Array;
  /** ε_i per pool index (PUMA), else null (every sample trains at the run's ε). */
  radii: Float32Array | null;
  removed: number;
}

function fail(problem: string): never {
  throw new Error(`${FILE}: ${problem}`);
}

/** Pool indices ordered from easiest to most difficult (seeded tie-break). */
export function orderByEase(scores: ArrayLike<number>, score: PruningScore, seed = 0): Int32Array {
  const n = scores.length;
  const rng = new SeededRandom(seed);
  const tie = new Float64Array(n);
  for (let i = 0; i < n; i++) tie[i] = rng.uniform();
  const order = Array.from({ length: n }, (_, i) => i);
  // easiness: high margin, or low CD
  const ease = (i: number) => (score === 'margin' ? scores[i]! : -scores[i]!);
  order.sort((a, b) => ease(b) - ease(a) || tie[a]! - tie[b]!);
  return Int32Array.from(order);
}

function countFor(ratio: number, n: number, what: string): number {
  if (!(ratio >= 0 && ratio < 1)) fail(`${what} must be in [0, 1), got ${ratio}`);
  return Math.round(ratio * n);
}

function keptFromMask(removedMask: Uint8Array): Int32Array {
  const kept: number[] = [];
  for (let i = 0; i < removedMask.length; i++) if (!removedMask[i]) kept.push(i);
  return Int32Array.from(kept);
}

function needScores(o: PruneOptions): ArrayLike<number> {
  if (!o.scores) fail(`strategy '${o.strategy}' needs a score per pool sample (margins or CD)`);
  if (o.scores.length !== o.poolSize) fail(`${o.scores.length} scores for a pool of ${o.poolSize} samples`);
  for (let i = 0; i < o.scores.length; i++) if (Number.isNaN(o.scores[i]!)) fail(`score ${i} is NaN`);
  return o.scores;
}

/** Removal by threshold (the paper's "CD < 0.02" and "margin < ε" forms). */
function thresholdMask(scores: ArrayLike<number>, score: PruningScore, easy: boolean, t: number): Uint8Array {
  const mask = new Uint8Array(scores.length);
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (score === 'margin') mask[i] = easy ? (s > t ? 1 : 0) : s < t ? 1 : 0;
    else mask[i] = easy ? (s < t ? 1 : 0) : s >= t ? 1 : 0;
  }
  return mask;
}

export function selectPruned(o: PruneOptions): PruneResult {
  const n = o.poolSize;
  if (!Number.isInteger(n) || n < 1) fail(`poolSize must be a positive integer, got ${n}`);
  const seed = o.seed ?? 0;
  const score = o.score ?? 'margin';
  const mask = new Uint8Array(n);
  let radii: Float32Array | null = null;
  switch (o.strategy) {
    case 'none':
    case 'online_puma': // pruned during training (Eq. 4), not before
      break;
    case 'random': {
      const k = countFor(o.ratio, n, 'ratio');
      const rng = new SeededRandom(seed);
      const order = Int32Array.from({ length: n }, (_, i) => i);
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(rng.uniform() * (i + 1));
        const t = order[i]!;
        order[i] = order[j]!;
        order[j] = t;
      }
      for (let i = 0; i < k; i++) mask[order[i]!] = 1;
      break;
    }
    case 'pe':
    case 'pd':
    case 'pe_pd':
    case 'puma': {
      const scores = needScores(o);
      const s: PruningScore = o.strategy === 'puma' ? 'margin' : score;
      if (o.threshold != null && (o.strategy === 'pe' || o.strategy === 'pd')) {
        mask.set(thresholdMask(scores, s, o.strategy === 'pe', o.threshold));
        break;
      }
      const order = orderByEase(scores, s, seed);
      const easy = o.strategy === 'pd' ? 0 : countFor(o.ratio, n, 'ratio');
      const hard = o.strategy === 'pd' ? countFor(o.ratio, n, 'ratio') : o.strategy === 'pe_pd' ? countFor(o.pdRatio ?? 0, n, 'pdRatio') : 0;
      if (easy + hard >= n) fail(`pruning ${easy} easy and ${hard} difficult samples leaves nothing of ${n}`);
      for (let i = 0; i < easy; i++) mask[order[i]!] = 1;
      for (let i = 0; i < hard; i++) mask[order[n - 1 - i]!] = 1;
      if (o.strategy === 'puma') {
        const eq2Eps = o.eq2Eps;
        if (eq2Eps == null) fail("strategy 'puma' needs eq2Eps (the ε of Eq. 2)");
        radii = epsilonsForMargins(scores, eq2Eps, o.gap ?? 0);
      }
      break;
    }
    default:
      fail(`unknown strategy '${String(o.strategy)}'`);
  }
  const kept = keptFromMask(mask);
  if (kept.length === 0) fail(`strategy '${o.strategy}' removed every sample`);
  return { kept, radii, removed: n - kept.length };
}
