/**
 * Batched multi-class DeepFool (Moosavi-Dezfooli et al. 2016), L∞ (default) or L2, returning a
 * signed margin per sample (docs/METHOD.md §1.1).
 *
 * Correctly classified sample (p(x) = y): linearise every f_k − f_y over the candidate classes k
 * (top-k logits at x), step to the closest linearised boundary, repeat until p(x) ≠ y.
 * Misclassified sample: linearise f_y − f_k for every class k above y and step to the farthest of
 * those linearised boundaries, until p(x) = y; the margin gets a minus sign.
 *
 * As in the reference implementation the iterate is x₀ + (1 + overshoot)·r_tot (clipped to the
 * box), the prediction is checked there, and the margin is the norm of that final perturbation.
 * All samples of a batch iterate together; finished ones are frozen. Each iteration computes the
 * gradients of all (sample, candidate) pairs in one backward pass over a batch that replicates each
 * sample once per candidate.
 */
import * as tf from '@tensorflow/tfjs';
import type { MarginNorm } from '../../../src-shared/domain/margins';
import { withoutFilterGradients } from '../fast-gradients';
import { checkImages, type ClassifierLike } from '../attacks/model';
import { argmaxRows, gatherRows, l2Distance, linfDistance, logitsOf, prepareMarginBatch } from './common';

const FILE = 'src-main/engine/margins/deepfool.ts';
// Keeps denominators away from zero (as foolbox does).
const DENOMINATOR_EPS = 1e-8;
const STALL_PUSH = 1e-4;

export type { MarginNorm };

export interface DeepFoolOptions {
  norm?: MarginNorm;
  overshoot?: number;
  maxIter?: number;
  /** Classes considered: the top-`candidates` logits at x (the predicted class included). */
  candidates?: number;
  /** Pixel box the iterates are clipped to; false disables clipping. Default [0, 1]. */
  clip?: [number, number] | false;
  /**
   * Bisection steps over the fraction of the final segment x₀ → x_DeepFool (default 12, 0 = off):
   * a linear step can jump well past a curved boundary, so the crossing is located on the segment
   * and the overshoot re-applied there (never beyond the DeepFool point). Forward passes only.
   * For a linear model the result is exactly DeepFool's.
   */
  refineSteps?: number;
  /** Also return the final (overshot) points as a tensor the caller disposes. */
  returnPerturbed?: boolean;
}

export interface MarginResult {
  /** Signed margins: + when the model classifies the sample correctly, − otherwise. */
  margins: Float32Array;
  /** Gradient steps taken per sample. */
  iterations: Int32Array;
  /** 1 when the prediction flipped (correct → wrong, or wrong → y) within the budget. */
  converged: Uint8Array;
  /** Input-gradient evaluations in total (one per sample and class difference or loss). */
  gradEvals: number;
  /** Single-sample forward evaluations in total, outside the gradient passes. */
  forwardEvals: number;
  perturbed?: tf.Tensor4D;
}

export function computeDeepFoolMargins(model: ClassifierLike, x: tf.Tensor4D, y: tf.Tensor1D | ArrayLike<number>, options: DeepFoolOptions = {}): MarginResult {
  checkImages(FILE, x);
  const norm = options.norm ?? 'linf';
  if (norm !== 'linf' && norm !== 'l2') throw new Error(`${FILE}: norm must be 'linf' or 'l2', got '${String(norm)}'`);
  const overshoot = options.overshoot ?? 0.02;
  if (!(overshoot >= 0)) throw new Error(`${FILE}: overshoot must be ≥ 0, got ${overshoot}`);
  const maxIter = options.maxIter ?? 50;
  if (!Number.isInteger(maxIter) || maxIter < 1) throw new Error(`${FILE}: maxIter must be an integer ≥ 1, got ${maxIter}`);
  const candidates = options.candidates ?? 10;
  if (!Number.isInteger(candidates) || candidates < 2) {
    throw new Error(`${FILE}: candidates must be an integer ≥ 2, got ${candidates}`);
  }
  const refineSteps = options.refineSteps ?? 12;
  if (!Number.isInteger(refineSteps) || refineSteps < 0) {
    throw new Error(`${FILE}: refineSteps must be an integer ≥ 0, got ${refineSteps}`);
  }
  const prepared = prepareMarginBatch(FILE, model, x, y, options);
  if (!('f' in prepared)) return prepared;
  const { f, n, imageShape, d, labels, x0, box, result, classes, startLogits, correct } = prepared;
  const [h, w, c] = imageShape;

  // Candidate classes of a correct sample: its top logits at x, the true class excluded.
  const others: Int32Array[] = [];
  for (let i = 0; i < n; i++) {
    if (!correct[i]) {
      others.push(new Int32Array(0));
      continue;
    }
    const row = Array.from(startLogits.subarray(i * classes, (i + 1) * classes), (v, k) => [v, k] as const);
    row.sort((a, b) => b[0] - a[0]);
    const top = row
      .slice(0, Math.min(candidates, classes))
      .map(([, k]) => k)
      .filter((k) => k !== labels[i]);
    others.push(Int32Array.from(top));
  }

  const rTot = new Float32Array(n * d);
  const current = Float32Array.from(x0);
  const scale = 1 + overshoot;
  let active = Array.from({ length: n }, (_, i) => i);
  let activeLogits = startLogits; // logits at `current` for the active samples, row by row

  for (let iter = 0; ; iter++) {
    // Freeze samples whose prediction has flipped.
    const still: number[] = [];
    const stillLogits: number[] = [];
    for (let j = 0; j < active.length; j++) {
      const i = active[j]!;
      const row = activeLogits.subarray(j * classes, (j + 1) * classes);
      const p = argmaxRows(row, 1, classes)[0]!;
      const flipped = correct[i] ? p !== labels[i] : p === labels[i];
      if (flipped) result.converged[i] = 1;
      else {
        still.push(i);
        for (let k = 0; k < classes; k++) stillLogits.push(row[k]!);
      }
    }
    if (still.length === 0 || iter === maxIter) break;

    // One row per (sample, class difference f_a − f_b); the step raises f_a − f_b to zero.
    const rowSample: number[] = [];
    const rowA: number[] = [];
    const rowB: number[] = [];
    const rowGap: number[] = []; // |f_a − f_b| at the current point
    still.forEach((i, j) => {
      const z = (k: number) => stillLogits[j * classes + k]!;
      if (correct[i]) {
        for (const k of others[i]!) {
          rowSample.push(j);
          rowA.push(k);
          rowB.push(labels[i]!);
          rowGap.push(Math.abs(z(k) - z(labels[i]!)));
        }
      } else {
        // Every class above y is a violated constraint f_y − f_k ≥ 0; the step satisfies the
        // farthest linearised one (with one class above y this is the plain DeepFool step).
        const yi = labels[i]!;
        for (let k = 0; k < classes; k++) {
          if (k === yi || z(k) < z(yi)) continue;
          rowSample.push(j);
          rowA.push(yi);
          rowB.push(k);
          rowGap.push(z(k) - z(yi));
        }
      }
    });
    const rows = rowSample.length;
    result.gradEvals += rows;

    const points = gatherRows(current, still, d);
    const rowGrads = tf.tidy(() => {
      const xs = tf.tensor4d(points, [still.length, h, w, c]);
      const replicated = tf.gather(xs, tf.tensor1d(rowSample, 'int32')) as tf.Tensor4D;
      // Row r's objective f_a − f_b as Σ_k z_rk·M_rk (M = +1 at a, −1 at b): a plain product, so
      // the backward pass needs no gather gradient (UnsortedSegmentSum is missing on wasm).
      const coefficients = new Float32Array(rows * classes);
      for (let r = 0; r < rows; r++) {
        coefficients[r * classes + rowA[r]!] = 1;
        coefficients[r * classes + rowB[r]!] = -1;
      }
      const selector = tf.tensor2d(coefficients, [rows, classes]);
      const objective = (xr: tf.Tensor): tf.Scalar => tf.sum(tf.mul(f(xr as tf.Tensor4D), selector));
      // Input gradients only: fused convs would otherwise also compute every filter gradient.
      let g = withoutFilterGradients(() => tf.grad(objective)(replicated)).reshape([rows, d]) as tf.Tensor2D;
      if (box) {
        // Coordinates already on the box edge cannot move further out: drop them from w.
        const flat = replicated.reshape([rows, d]);
        const blocked = tf.logicalOr(tf.logicalAnd(tf.lessEqual(flat, box[0]), tf.less(g, 0)), tf.logicalAnd(tf.greaterEqual(flat, box[1]), tf.greater(g, 0)));
        g = tf.where(blocked, tf.zerosLike(g), g);
      }
      return g;
    });
    const norms = tf.tidy(() => (norm === 'linf' ? tf.sum(tf.abs(rowGrads), 1) : tf.sqrt(tf.sum(tf.square(rowGrads), 1))));
    const normValues = norms.dataSync() as Float32Array;

    // Per sample, the closest linearised boundary (the farthest violated one when misclassified).
    const bestRow = new Int32Array(still.length).fill(-1);
    const bestDistance = new Float64Array(still.length).fill(Infinity);
    const farthest = still.map((i) => !correct[i]);
    for (let j = 0; j < still.length; j++) if (farthest[j]) bestDistance[j] = -Infinity;
    for (let r = 0; r < rows; r++) {
      const j = rowSample[r]!;
      const distance = rowGap[r]! / (normValues[r]! + DENOMINATOR_EPS);
      if (farthest[j] ? distance > bestDistance[j]! : distance < bestDistance[j]!) {
        bestDistance[j] = distance;
        bestRow[j] = r;
      }
    }
    const coefficients = new Float32Array(still.length);
    for (let j = 0; j < still.length; j++) {
      const r = bestRow[j]!;
      const nr = normValues[r]!;
      // L∞: |Δf|/‖w‖₁ · sign(w); L2: |Δf|/‖w‖₂² · w.
      // After the first step a sample that has not flipped may sit on a boundary whose overshoot
      // the box clipping ate; LTS4 and foolbox add 1e-4 to every step's distance for this.
      const push = iter > 0 ? STALL_PUSH : 0;
      coefficients[j] = norm === 'linf' ? rowGap[r]! / (nr + DENOMINATOR_EPS) + push : (rowGap[r]! / (nr + DENOMINATOR_EPS) + push) / (nr + DENOMINATOR_EPS);
    }
    const steps = tf.tidy(() => {
      const chosen = tf.gather(rowGrads, tf.tensor1d(bestRow, 'int32'));
      const direction = norm === 'linf' ? tf.sign(chosen) : chosen;
      return tf.mul(direction, tf.tensor2d(coefficients, [still.length, 1]));
    });
    const stepValues = steps.dataSync() as Float32Array;
    tf.dispose([rowGrads, norms, steps]);

    still.forEach((i, j) => {
      result.iterations[i]! += 1;
      for (let q = 0; q < d; q++) {
        const p = i * d + q;
        rTot[p]! += stepValues[j * d + q]!;
        let v = x0[p]! + scale * rTot[p]!;
        if (box) v = Math.min(box[1], Math.max(box[0], v));
        current[p] = v;
      }
    });

    active = still;
    activeLogits = logitsOf(f, gatherRows(current, still, d), still.length, imageShape).data;
    result.forwardEvals += still.length;
  }

  if (refineSteps > 0) {
    result.forwardEvals += refineOnSegment(f, x0, current, result.converged, imageShape, refineSteps, scale, (i, p) =>
      correct[i] ? p !== labels[i] : p === labels[i],
    );
  }

  for (let i = 0; i < n; i++) {
    const size = norm === 'linf' ? linfDistance(current, x0, i, d) : l2Distance(current, x0, i, d);
    result.margins[i] = correct[i] ? size : -size;
  }
  if (options.returnPerturbed) result.perturbed = tf.tensor4d(current, [n, h, w, c]);
  return result;
}

/**
 * Moves each converged sample's point back along its segment x₀ → point to (1 + overshoot)·t,
 * t the bisected crossing fraction, when that point still flips the prediction. Returns the
 * number of single-sample forward evaluations spent.
 */
function refineOnSegment(
  f: (x: tf.Tensor4D) => tf.Tensor2D,
  x0: Float32Array,
  current: Float32Array,
  converged: Uint8Array,
  imageShape: [number, number, number],
  steps: number,
  scale: number,
  flippedAt: (i: number, prediction: number) => boolean,
): number {
  const d = imageShape[0] * imageShape[1] * imageShape[2];
  const samples = Array.from(converged.keys()).filter((i) => converged[i]);
  if (samples.length === 0) return 0;
  const start = gatherRows(x0, samples, d);
  const end = gatherRows(current, samples, d);
  const probe = new Float32Array(start.length);
  const lo = new Float64Array(samples.length);
  const hi = new Float64Array(samples.length).fill(1);
  let evaluations = 0;
  const predictionsAt = (fractions: Float64Array): Int32Array => {
    for (let q = 0; q < samples.length; q++) {
      const t = fractions[q]!;
      for (let p = q * d, stop = (q + 1) * d; p < stop; p++) probe[p] = start[p]! + t * (end[p]! - start[p]!);
    }
    evaluations += samples.length;
    const { data, classes } = logitsOf(f, probe, samples.length, imageShape);
    return argmaxRows(data, samples.length, classes);
  };
  const mid = new Float64Array(samples.length);
  for (let j = 0; j < steps; j++) {
    for (let q = 0; q < samples.length; q++) mid[q] = (lo[q]! + hi[q]!) / 2;
    const predictions = predictionsAt(mid);
    samples.forEach((i, q) => {
      if (flippedAt(i, predictions[q]!)) hi[q] = mid[q]!;
      else lo[q] = mid[q]!;
    });
  }
  const overshot = Float64Array.from(hi, (t) => Math.min(1, scale * t));
  const predictions = predictionsAt(overshot);
  samples.forEach((i, q) => {
    // Keep the overshot point only where it flips; hi itself always does.
    const t = flippedAt(i, predictions[q]!) ? overshot[q]! : hi[q]!;
    if (t === 1) return;
    for (let p = 0; p < d; p++) current[i * d + p] = start[q * d + p]! + t * (end[q * d + p]! - start[q * d + p]!);
  });
  return evaluations;
}
