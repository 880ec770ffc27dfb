/**
 * PUMA's per-sample training radius (paper Eq. 2 and Eq. 3).
 *
 *   Eq. 2: ε_i = clip(m_i, −ε, ε)
 *   Eq. 3: ε_i = clip(m_i − g, −ε, ε)   (gap g ≥ 0 absorbs margin-estimate error)
 *
 * ε_i < 0 asks the attack for an anti-adversarial perturbation of size |ε_i|.
 */

function checkEpsAndGap(where: string, eps: number, gap: number): void {
  if (!Number.isFinite(eps) || eps < 0) {
    throw new Error(`src-shared/method/epsilon.ts: ${where}: eps must be a finite number ≥ 0, got ${eps}`);
  }
  if (!Number.isFinite(gap) || gap < 0) {
    throw new Error(`src-shared/method/epsilon.ts: ${where}: gap must be a finite number ≥ 0, got ${gap}`);
  }
}

function clipToBall(value: number, eps: number): number {
  // `+ 0` turns a −0 result into 0 so that "ε_i = 0" is unambiguous downstream.
  return Math.min(eps, Math.max(-eps, value)) + 0;
}

/** ε_i for one margin (Eq. 2 when gap = 0, Eq. 3 otherwise). */
export function epsilonForMargin(margin: number, eps: number, gap = 0): number {
  checkEpsAndGap('epsilonForMargin', eps, gap);
  if (Number.isNaN(margin)) {
    throw new Error('src-shared/method/epsilon.ts: epsilonForMargin: margin is NaN');
  }
  return clipToBall(margin - gap, eps);
}

/** Vectorised Eq. 2/3 over all margins. */
export function epsilonsForMargins(margins: ArrayLike<number>, eps: number, gap = 0): Float32Array {
  checkEpsAndGap('epsilonsForMargins', eps, gap);
  const out = new Float32Array(margins.length);
  for (let i = 0; i < margins.length; i++) {
    const m = margins[i]!;
    if (Number.isNaN(m)) {
      throw new Error(`src-shared/method/epsilon.ts: epsilonsForMargins: margin ${i} is NaN`);
    }
    out[i] = clipToBall(m - gap, eps);
  }
  return out;
}
