/**
 * The paper's fast margin (Appendix C, Algorithm 1; docs/METHOD.md §1.2), batched.
 *
 * Correct sample: BIM steps x' ← clip(x' + α·sign(∇CE(f(x'), y))) until p(x') ≠ y (≤ iMax steps).
 * Misclassified sample: anti-adversarial steps (minus sign) until p(x') = y.
 * Then jMax bisection steps over the fraction t of the segment x → x' for the crossing point;
 * margin = ± t·‖x' − x‖∞ (the pseudo-code scales by the margin itself; the intent is the fraction).
 * A sample that never flips keeps ±‖x' − x‖∞ (a bound) and converged = 0.
 */
import * as tf from '@tensorflow/tfjs';
import { withoutFilterGradients } from '../fast-gradients';
import { crossEntropyPerSample } from '../attacks/losses';
import { checkImages, type ClassifierLike } from '../attacks/model';
import { argmaxRows, gatherRows, linfDistance, logitsOf, prepareMarginBatch } from './common';
import type { MarginResult } from './deepfool';

const FILE = 'src-main/engine/margins/fast.ts';

export interface FastMarginOptions {
  /** BIM step size α. */
  stepSize: number;
  /** Most BIM steps. */
  iMax: number;
  /** Bisection steps along the segment. */
  jMax: number;
  /** Pixel box; false disables clipping. Default [0, 1]. */
  clip?: [number, number] | false;
  returnPerturbed?: boolean;
}

export function computeFastMargins(model: ClassifierLike, x: tf.Tensor4D, y: tf.Tensor1D | ArrayLike<number>, options: FastMarginOptions): MarginResult {
  checkImages(FILE, x);
  const { stepSize, iMax, jMax } = options;
  if (!(stepSize > 0) || !Number.isFinite(stepSize)) throw new Error(`${FILE}: stepSize must be > 0, got ${stepSize}`);
  if (!Number.isInteger(iMax) || iMax < 1) throw new Error(`${FILE}: iMax must be an integer ≥ 1, got ${iMax}`);
  if (!Number.isInteger(jMax) || jMax < 0) throw new Error(`${FILE}: jMax must be an integer ≥ 0, got ${jMax}`);
  const prepared = prepareMarginBatch(FILE, model, x, y, options);
  if (!('f' in prepared)) return prepared;
  const { f, n, imageShape, d, labels, x0, box, result, classes, correct } = prepared;
  const [h, w, c] = imageShape;
  const flippedAt = (i: number, prediction: number) => (correct[i] ? prediction !== labels[i] : prediction === labels[i]);

  const end = Float32Array.from(x0); // x' of each sample
  let active = Array.from({ length: n }, (_, i) => i);
  // One forward+backward pass per step gives both the check of the previous step (logits at the
  // current point) and the gradient of the next one, instead of a separate forward to check.
  for (let step = 0; active.length > 0; step++) {
    const a = active.length;
    const points = gatherRows(end, active, d);
    if (step === iMax) {
      // Budget spent: only check the last step.
      const check = logitsOf(f, points, a, imageShape);
      result.forwardEvals += a;
      const predictions = argmaxRows(check.data, a, classes);
      active.forEach((i, j) => {
        if (flippedAt(i, predictions[j]!)) result.converged[i] = 1;
      });
      break;
    }
    const ys = Int32Array.from(active, (i) => labels[i]!);
    let logitsAt: tf.Tensor2D | null = null;
    // Input gradients only: fused convs would otherwise also compute every filter gradient.
    const signs = withoutFilterGradients(() =>
      tf.tidy(() => {
        const xs = tf.tensor4d(points, [a, h, w, c]);
        const labelTensor = tf.tensor1d(ys, 'int32');
        const g = tf.grad((xv: tf.Tensor) => {
          const logits = f(xv as tf.Tensor4D);
          logitsAt = tf.keep(logits.clone());
          return tf.sum(crossEntropyPerSample(logits, labelTensor));
        })(xs);
        return tf.sign(g);
      }),
    );
    const logitValues = (logitsAt as unknown as tf.Tensor2D).dataSync() as Float32Array;
    (logitsAt as unknown as tf.Tensor2D).dispose();
    const signValues = signs.dataSync() as Float32Array;
    signs.dispose();
    const predictions = argmaxRows(logitValues, a, classes);
    const stillIdx: number[] = [];
    active.forEach((i, j) => {
      if (step > 0 && flippedAt(i, predictions[j]!)) {
        // This pass served as its check; its gradient goes unused.
        result.converged[i] = 1;
        result.forwardEvals += 1;
        return;
      }
      stillIdx.push(i);
      result.gradEvals += 1;
      const direction = correct[i] ? stepSize : -stepSize;
      result.iterations[i]! += 1;
      for (let q = 0; q < d; q++) {
        let v = points[j * d + q]! + direction * signValues[j * d + q]!;
        if (box) v = Math.min(box[1], Math.max(box[0], v));
        end[i * d + q] = v;
      }
    });
    active = stillIdx;
  }

  // Bisection over the fraction t ∈ [lo, hi]: not flipped at lo, flipped at hi.
  const flipped = Array.from({ length: n }, (_, i) => i).filter((i) => result.converged[i]);
  const lo = new Float64Array(n);
  const hi = new Float64Array(n).fill(1);
  if (flipped.length > 0) {
    const segmentStart = gatherRows(x0, flipped, d);
    const segmentEnd = gatherRows(end, flipped, d);
    const probe = new Float32Array(segmentStart.length);
    for (let j = 0; j < jMax; j++) {
      flipped.forEach((i, q) => {
        const t = (lo[i]! + hi[i]!) / 2;
        for (let p = q * d, stop = (q + 1) * d; p < stop; p++) {
          probe[p] = segmentStart[p]! + t * (segmentEnd[p]! - segmentStart[p]!);
        }
      });
      const check = logitsOf(f, probe, flipped.length, imageShape);
      result.forwardEvals += flipped.length;
      const predictions = argmaxRows(check.data, flipped.length, classes);
      flipped.forEach((i, q) => {
        const t = (lo[i]! + hi[i]!) / 2;
        if (flippedAt(i, predictions[q]!)) hi[i] = t;
        else lo[i] = t;
      });
    }
  }

  const final = options.returnPerturbed ? new Float32Array(n * d) : undefined;
  for (let i = 0; i < n; i++) {
    const t = result.converged[i] ? (lo[i]! + hi[i]!) / 2 : 1;
    const size = t * linfDistance(end, x0, i, d);
    result.margins[i] = correct[i] ? size : -size;
    if (final) {
      for (let p = i * d, stop = (i + 1) * d; p < stop; p++) final[p] = x0[p]! + t * (end[p]! - x0[p]!);
    }
  }
  if (final) result.perturbed = tf.tensor4d(final, [n, h, w, c]);
  return result;
}
