/** Shared fixtures for the attack and margin tests: linear classifiers, tiny trained nets, ranks. */
import * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';
import type { LogitsFn } from '../../../src-main/engine/attacks/model';

export async function useCpuBackend(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
}

export function gaussian(rng: () => number): number {
  const u = Math.max(rng(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** logits = W·flatten(x) + b with W as [d][C] rows-per-pixel and b [C]. */
export interface LinearClassifier {
  weights: number[][]; // [C][d]: weights[k] is w_k
  bias: number[];
  fn: LogitsFn;
}

export function linearClassifier(weights: number[][], bias: number[]): LinearClassifier {
  const classes = weights.length;
  const d = weights[0]!.length;
  const wTensor = tf.keep(tf.tensor2d(weights).transpose()); // [d, C]
  const bTensor = tf.keep(tf.tensor1d(bias));
  const fn: LogitsFn = (x) => tf.add(tf.matMul(x.reshape([x.shape[0], d]), wTensor), bTensor) as tf.Tensor2D;
  void classes;
  return { weights, bias, fn };
}

export function logitsOfLinear(model: LinearClassifier, x: ArrayLike<number>): number[] {
  return model.weights.map((w, k) => w.reduce((s, wk, p) => s + wk * x[p]!, model.bias[k]!));
}

/** A tiny labelled image set: Gaussian clusters around class prototypes, clipped to [0, 1]. */
export function clusteredImages(n: number, classes: number, shape: [number, number, number], noise: number, seed: string): { x: Float32Array; y: Int32Array } {
  const rng = seedrandom(seed);
  const d = shape[0] * shape[1] * shape[2];
  const prototypes = Array.from({ length: classes }, () => Array.from({ length: d }, () => 0.3 + 0.4 * rng()));
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % classes;
    y[i] = k;
    for (let p = 0; p < d; p++) x[i * d + p] = Math.min(1, Math.max(0, prototypes[k]![p]! + noise * gaussian(rng)));
  }
  return { x, y };
}

export async function trainTinyMlp(
  data: { x: Float32Array; y: Int32Array },
  shape: [number, number, number],
  classes: number,
  epochs: number,
): Promise<tf.LayersModel> {
  const model = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: shape }),
      tf.layers.dense({ units: 32, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.dense({ units: classes, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.01), loss: tf.losses.softmaxCrossEntropy });
  const n = data.y.length;
  const xs = tf.tensor4d(data.x, [n, ...shape]);
  const ys = tf.oneHot(tf.tensor1d(data.y, 'int32'), classes);
  await model.fit(xs, ys, { epochs, batchSize: 64, shuffle: false, verbose: 0 });
  tf.dispose([xs, ys]);
  return model;
}

function ranks(values: ArrayLike<number>): Float64Array {
  const order = Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const out = new Float64Array(values.length);
  for (let r = 0; r < order.length;) {
    let end = r;
    while (end + 1 < order.length && values[order[end + 1]!] === values[order[r]!]) end++;
    for (let q = r; q <= end; q++) out[order[q]!] = (r + end) / 2;
    r = end + 1;
  }
  return out;
}

export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const ra = ranks(a);
  const rb = ranks(b);
  const n = ra.length;
  const mean = (n - 1) / 2;
  let cov = 0;
  let va = 0;
  let vb = 0;
  for (let i = 0; i < n; i++) {
    cov += (ra[i]! - mean) * (rb[i]! - mean);
    va += (ra[i]! - mean) ** 2;
    vb += (rb[i]! - mean) ** 2;
  }
  return cov / Math.sqrt(va * vb);
}
