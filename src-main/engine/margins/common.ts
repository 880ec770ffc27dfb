/** Small helpers shared by the margin estimators (host-side bookkeeping of a batch). */
import * as tf from '@tensorflow/tfjs';
import type { LogitsFn } from '../attacks/model';

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
export function logitsOf(
  f: LogitsFn,
  images: Float32Array,
  rows: number,
  imageShape: [number, number, number],
): { data: Float32Array; classes: number } {
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
