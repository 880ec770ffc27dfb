/** The margin summary printed by the CLI (keys are part of its JSON output). */

export interface MarginSummary {
  count: number;
  mean: number;
  quantiles: { p01: number; p10: number; p50: number; p90: number; p99: number };
  fraction_negative: number;
  /** Fraction with m < ε; null when no ε is given. */
  fraction_below_eps: number | null;
}

/** Linear-interpolation quantile of sorted values (NumPy's default method). */
function quantileSorted(sorted: Float64Array, q: number): number {
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below]! + (position - below) * (sorted[above]! - sorted[below]!);
}

export function summarizeMargins(margins: Float32Array, eps?: number): MarginSummary {
  const n = margins.length;
  if (n === 0) throw new Error('src-main/engine/margins/summary.ts: cannot summarise an empty margin array');
  if (eps !== undefined && !Number.isFinite(eps)) {
    throw new Error(`src-main/engine/margins/summary.ts: eps must be finite, got ${eps}`);
  }
  const sorted = Float64Array.from(margins);
  let sum = 0;
  let negative = 0;
  let belowEps = 0;
  for (let i = 0; i < n; i++) {
    const m = sorted[i]!;
    if (Number.isNaN(m)) throw new Error(`src-main/engine/margins/summary.ts: margin ${i} is NaN`);
    sum += m;
    if (m < 0) negative++;
    if (eps !== undefined && m < eps) belowEps++;
  }
  sorted.sort();
  return {
    count: n,
    mean: sum / n,
    quantiles: {
      p01: quantileSorted(sorted, 0.01),
      p10: quantileSorted(sorted, 0.1),
      p50: quantileSorted(sorted, 0.5),
      p90: quantileSorted(sorted, 0.9),
      p99: quantileSorted(sorted, 0.99),
    },
    fraction_negative: negative / n,
    fraction_below_eps: eps === undefined ? null : belowEps / n,
  };
}
