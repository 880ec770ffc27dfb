/**
 * Clean accuracy and robust accuracy under PGD-k with the cross-entropy and the C&W margin loss
 * (random start, step ε/4 by default), on a fixed set of test samples.
 */
import * as tf from '@tensorflow/tfjs';
import { pgdAttack } from '../attacks';

export interface EvalSet {
  /** n·h·w·c floats in [0, 1]. */
  images: Float32Array;
  labels: Int32Array;
  shape: [number, number, number, number];
}

export interface EvalOptions {
  eps: number;
  steps: number;
  /** null = eps/4. */
  stepSize: number | null;
  batchSize: number;
  seed: number;
  /** Skip the attacks (e.g. standard training with eps = 0). */
  cleanOnly?: boolean;
  /** Called after each batch with the fraction done. */
  onBatch?: (fraction: number) => void | Promise<void>;
}

export interface EvalResult {
  clean_acc: number;
  robust_acc_pgd: number;
  robust_acc_cw: number;
  count: number;
  seconds: number;
}

function correctCount(model: tf.LayersModel, x: tf.Tensor4D, y: Int32Array): number {
  const pred = tf.tidy(() => tf.argMax(model.apply(x, { training: false }) as tf.Tensor2D, 1).dataSync());
  let c = 0;
  for (let i = 0; i < y.length; i++) if (pred[i] === y[i]) c++;
  return c;
}

export async function evaluateRobustness(model: tf.LayersModel, set: EvalSet, o: EvalOptions): Promise<EvalResult> {
  const started = performance.now();
  const [n, h, w, c] = set.shape;
  if (set.labels.length !== n || set.images.length !== n * h * w * c) {
    throw new Error(`src-main/engine/training/evaluate.ts: evaluation set has ${set.labels.length} labels and ${set.images.length} values for shape [${set.shape.join(', ')}]`);
  }
  const d = h * w * c;
  let clean = 0;
  let pgd = 0;
  let cw = 0;
  const stepSize = o.stepSize ?? o.eps / 4;
  for (let s = 0, b = 0; s < n; s += o.batchSize, b++) {
    const m = Math.min(o.batchSize, n - s);
    const y = set.labels.subarray(s, s + m);
    const x = tf.tensor4d(set.images.subarray(s * d, (s + m) * d), [m, h, w, c]);
    const labels = tf.tensor1d(y, 'int32');
    try {
      clean += correctCount(model, x, y);
      if (!o.cleanOnly && o.eps > 0 && o.steps > 0) {
        for (const loss of ['ce', 'cw'] as const) {
          const adv = pgdAttack(model, x, labels, { eps: o.eps, steps: o.steps, stepSize, loss, seed: o.seed + b * 2 + (loss === 'cw' ? 1 : 0) });
          const k = correctCount(model, adv, y);
          adv.dispose();
          if (loss === 'ce') pgd += k;
          else cw += k;
        }
      }
    } finally {
      x.dispose();
      labels.dispose();
    }
    await o.onBatch?.((s + m) / n);
  }
  const attacked = !o.cleanOnly && o.eps > 0 && o.steps > 0;
  return {
    clean_acc: clean / n,
    robust_acc_pgd: attacked ? pgd / n : clean / n,
    robust_acc_cw: attacked ? cw / n : clean / n,
    count: n,
    seconds: (performance.now() - started) / 1000,
  };
}
