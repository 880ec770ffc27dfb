/** Small helpers shared by the margin estimators (host-side bookkeeping of a batch). */
import * as tf from '@tensorflow/tfjs';
import { checkLabelRange, labelsToArray, toLogitsFn, type ClassifierLike, type LogitsFn } from '../attacks/model';
import type { MarginResult } from './deepfool';

export function argmaxRows(logits: Float32Array | Int32Array | Uint8Array, rows: number, classes: number): Int32Array {
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    let bestValue = -Infinity;
    const base = r * classes;
    for (let k = 0; k < classes; k++) {
      const v = logits[base + k]!;
      if (v > bestValue) {
        bestValue = v;
        best = k;
      }
    }
    out[r] = best;
  }
  return out;
}

/** Copies the rows `indices` of a flat [n, d] array into a new [indices.length, d] array. */
export function gatherRows(data: Float32Array, indices: ArrayLike<number>, d: number): Float32Array {
  const out = new Float32Array(indices.length * d);
  for (let j = 0; j < indices.length; j++) {
    const i = indices[j]!;
    out.set(data.subarray(i * d, (i + 1) * d), j * d);
  }
  return out;
}

/** Logits of the given flat images (shape [rows, h, w, c]) as a host array. */
export function logitsOf(f: LogitsFn, images: Float32Array, rows: number, imageShape: [number, number, number]): { data: Float32Array; classes: number } {
  const logits = tf.tidy(() => f(tf.tensor4d(images, [rows, ...imageShape])));
  const data = logits.dataSync() as Float32Array;
  const classes = logits.shape[1];
  logits.dispose();
  return { data: Float32Array.from(data), classes };
}

export function linfDistance(a: Float32Array, b: Float32Array, i: number, d: number): number {
  let m = 0;
  for (let p = i * d, end = (i + 1) * d; p < end; p++) m = Math.max(m, Math.abs(a[p]! - b[p]!));
  return m;
}

export function l2Distance(a: Float32Array, b: Float32Array, i: number, d: number): number {
  let s = 0;
  for (let p = i * d, end = (i + 1) * d; p < end; p++) {
    const diff = a[p]! - b[p]!;
    s += diff * diff;
  }
  return Math.sqrt(s);
}

/** What every margin estimator sets up before iterating: the batch in JS, labels, and the start. */
export interface MarginBatch {
  f: LogitsFn;
  n: number;
  imageShape: [number, number, number];
  d: number;
  labels: Int32Array;
  x0: Float32Array;
  box: [number, number] | false;
  result: MarginResult;
  classes: number;
  /** Logits at x, row by row. */
  startLogits: Float32Array;
  pred0: Int32Array;
  /** 1 where the model classifies the sample correctly at x. */
  correct: Uint8Array;
}

/**
 * Validates the inputs and runs the first forward pass; returns the finished (empty) result
 * for an empty batch instead.
 */
export function prepareMarginBatch(
  file: string,
  model: ClassifierLike,
  x: tf.Tensor4D,
  y: tf.Tensor1D | ArrayLike<number>,
  options: { clip?: [number, number] | false; returnPerturbed?: boolean },
): MarginBatch | MarginResult {
  const box = options.clip === undefined ? ([0, 1] as [number, number]) : options.clip;
  if (box && !(box[0] < box[1])) throw new Error(`${file}: clip box [${box[0]}, ${box[1]}] is empty`);
  const f = toLogitsFn(model);
  const [n, h, w, c] = x.shape;
  const imageShape: [number, number, number] = [h, w, c];
  const labels = labelsToArray(file, y, n);
  const x0 = Float32Array.from(x.dataSync() as Float32Array);
  const result: MarginResult = {
    margins: new Float32Array(n),
    iterations: new Int32Array(n),
    converged: new Uint8Array(n),
    gradEvals: 0,
    forwardEvals: n,
  };
  if (n === 0) {
    if (options.returnPerturbed) result.perturbed = x.clone();
    return result;
  }
  const start = logitsOf(f, x0, n, imageShape);
  const classes = start.classes;
  checkLabelRange(file, labels, classes);
  const pred0 = argmaxRows(start.data, n, classes);
  const correct = new Uint8Array(n);
  for (let i = 0; i < n; i++) correct[i] = pred0[i] === labels[i] ? 1 : 0;
  return { f, n, imageShape, d: h * w * c, labels, x0, box, result, classes, startLogits: start.data, pred0, correct };
}
