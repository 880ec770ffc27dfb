import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import seedrandom from 'seedrandom';
import { installFastGradients } from '../../../src-main/engine/fast-gradients';

export async function useBackend(name: 'cpu' | 'wasm'): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`cannot set backend ${name}`);
  await tf.ready();
  if (name === 'wasm') installFastGradients();
}

export function randomArray(size: number, rng: () => number, scale = 1): Float32Array {
  const a = new Float32Array(size);
  for (let i = 0; i < size; i++) a[i] = (rng() * 2 - 1) * scale;
  return a;
}

export function makeRng(seed: string): () => number {
  return seedrandom(seed);
}

/** ||a - b|| / ||b|| */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

export interface Spec {
  shape: number[];
  data: Float32Array;
}

/** Gradients of fn w.r.t. all its inputs, computed on `backend`, returned as plain arrays. */
export async function gradientsOn(backend: 'cpu' | 'wasm', inputs: Spec[], fn: (...xs: tf.Tensor[]) => tf.Tensor): Promise<Float32Array[]> {
  await useBackend(backend);
  return tf.tidy(() => {
    const xs = inputs.map((s) => tf.tensor(s.data, s.shape));
    const grads = tf.grads((...args: tf.Tensor[]) => fn(...args))(xs);
    return grads.map((g) => g.dataSync() as Float32Array);
  });
}

export async function compareGradients(inputs: Spec[], fn: (...xs: tf.Tensor[]) => tf.Tensor): Promise<number[]> {
  const ref = await gradientsOn('cpu', inputs, fn);
  const fast = await gradientsOn('wasm', inputs, fn);
  return fast.map((g, i) => relativeError(g, ref[i]));
}
