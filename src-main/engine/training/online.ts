/**
 * Online PUMA (paper §5, Eq. 4) for one batch: attack every sample at the full ε to get x'_i,
 * bisect the largest m ∈ [−ε, ε] with p(x_i + (m/ε)(x'_i − x_i)) = y_i (none → −ε), prune the
 * samples still classified correctly at the pruning margin m_P, and take ε_i from Eq. 2.
 * The model runs in inference mode throughout.
 */
import * as tf from '@tensorflow/tfjs';
import { pgdAttack } from '../attacks';
import { epsilonsForMargins } from '../../../src-shared/method/epsilon';

export interface OnlineOptions {
  eps: number;
  eq2Eps: number;
  /** m_P; null = never prune (warm-up, or ε_i only). */
  pruneMargin: number | null;
  attackSteps: number;
  attackStepSize: number | null;
  searchSteps: number;
  seed: number;
}

export interface OnlineResult {
  margins: Float32Array;
  radii: Float32Array;
  /** 0 for pruned samples, 1 for kept ones. */
  weights: Float32Array;
  pruned: number;
}

function correctAt(model: tf.LayersModel, x: tf.Tensor4D, direction: tf.Tensor4D, scale: Float32Array, y: Int32Array): Uint8Array {
  const pred = tf.tidy(() => {
    const s = tf.tensor1d(scale).reshape([scale.length, 1, 1, 1]);
    const probe = tf.clipByValue(tf.add(x, tf.mul(direction, s)), 0, 1) as tf.Tensor4D;
    return tf.argMax(model.apply(probe, { training: false }) as tf.Tensor2D, 1).dataSync();
  });
  const out = new Uint8Array(y.length);
  for (let i = 0; i < y.length; i++) out[i] = pred[i] === y[i] ? 1 : 0;
  return out;
}

export function onlinePumaBatch(model: tf.LayersModel, x: tf.Tensor4D, labels: tf.Tensor1D, o: OnlineOptions): OnlineResult {
  const n = x.shape[0];
  const y = labels.dataSync() as Int32Array;
  const adv = pgdAttack(model, x, labels, {
    eps: o.eps,
    steps: Math.max(1, o.attackSteps),
    ...(o.attackStepSize != null ? { stepSize: o.attackStepSize } : {}),
    loss: 'ce',
    seed: o.seed,
  });
  const direction = tf.sub(adv, x) as tf.Tensor4D;
  adv.dispose();
  try {
    const margins = new Float32Array(n);
    const lo = new Float32Array(n).fill(-o.eps);
    const hi = new Float32Array(n).fill(o.eps);
    const atTop = correctAt(model, x, direction, new Float32Array(n).fill(1), y);
    const atBottom = correctAt(model, x, direction, new Float32Array(n).fill(-1), y);
    const open: number[] = [];
    for (let i = 0; i < n; i++) {
      if (atTop[i]) margins[i] = o.eps;
      else if (!atBottom[i]) margins[i] = -o.eps;
      else open.push(i);
    }
    // Bisection: lo is always correct, hi always wrong.
    for (let step = 0; step < o.searchSteps && open.length > 0; step++) {
      const scale = new Float32Array(n);
      for (const i of open) scale[i] = (lo[i]! + hi[i]!) / 2 / o.eps;
      const ok = correctAt(model, x, direction, scale, y);
      for (const i of open) {
        if (ok[i]) lo[i] = scale[i]! * o.eps;
        else hi[i] = scale[i]! * o.eps;
      }
    }
    for (const i of open) margins[i] = lo[i]!;
    const weights = new Float32Array(n).fill(1);
    let pruned = 0;
    if (o.pruneMargin != null && o.eps > 0) {
      const keep = correctAt(model, x, direction, new Float32Array(n).fill(o.pruneMargin / o.eps), y);
      for (let i = 0; i < n; i++) if (keep[i]) ((weights[i] = 0), pruned++);
      // Never prune a whole batch: the step would have no loss at all.
      if (pruned === n) (weights.fill(1), (pruned = 0));
    }
    return { margins, radii: epsilonsForMargins(margins, o.eq2Eps), weights, pruned };
  } finally {
    direction.dispose();
  }
}
