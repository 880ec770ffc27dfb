import { describe, it, expect, onTestFinished } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { compareGradients, makeRng, randomArray, relativeError, useBackend } from './helpers';
import { setSimdKernelsEnabled, simdKernels } from '../../../src-main/engine/simd';
import { SIMD_KERNELS_WASM_BASE64 } from '../../../src-main/engine/simd/kernels-wasm';
import { interleavePhases, maxPoolGradient, permute3, reluGradient, reluGradientAndBiasSum, sumLeading } from '../../../src-main/engine/wasm-layout';
import { conv2dFilterGradient } from '../../../src-main/engine/fast-gradients';
// @ts-expect-error plain JS build script without type declarations
import { compileSimdKernels } from '../../../scripts/build-simd-kernels.mjs';

/** fn's result with the SIMD kernels on and with the plain-JS loops, as arrays. */
function bothWays(fn: () => tf.Tensor | tf.Tensor[]): [Float32Array[], Float32Array[]] {
  const run = (on: boolean) => {
    setSimdKernelsEnabled(on);
    try {
      const out = fn();
      const list = Array.isArray(out) ? out : [out];
      const arrays = list.map((t) => t.dataSync() as Float32Array);
      tf.dispose(list);
      return arrays;
    } finally {
      setSimdKernelsEnabled(true);
    }
  };
  return [run(true), run(false)];
}

function tensor(shape: number[], seed: string, scale = 1): tf.Tensor {
  return tf.tensor(
    randomArray(
      shape.reduce((a, b) => a * b, 1),
      makeRng(seed),
      scale,
    ),
    shape,
  );
}

describe('wasm SIMD layout kernels', () => {
  it('the committed module is the compiled kernels.wat', async () => {
    const bytes: Buffer = await compileSimdKernels();
    expect(bytes.toString('base64')).toBe(SIMD_KERNELS_WASM_BASE64);
  });

  it('bind to the wasm heap on wasm, not on cpu', async () => {
    await useBackend('cpu');
    expect(simdKernels()).toBeNull();
    await useBackend('wasm');
    expect(simdKernels()).not.toBeNull();
    setSimdKernelsEnabled(false);
    expect(simdKernels()).toBeNull();
    setSimdKernelsEnabled(true);
  });

  it('relu mask equals the JS loop bit for bit (zeros, negatives, tails)', async () => {
    await useBackend('wasm');
    for (const n of [1, 3, 4, 37, 4096 + 3]) {
      const dy = tensor([n], `dy${n}`);
      const data = randomArray(n, makeRng(`y${n}`));
      for (let i = 0; i < n; i += 5) data[i] = 0;
      if (n > 2) data[1] = -0;
      const y = tf.tensor(data, [n]);
      const [simd, js] = bothWays(() => reluGradient(dy, y));
      expect(Array.from(simd[0])).toEqual(Array.from(js[0]));
      expect(Array.from(simd[0]).filter((v, i) => data[i] <= 0 && v !== 0)).toEqual([]);
    }
  });

  it('column sums (sumLeading) and the fused ReLU mask + bias sum', async () => {
    await useBackend('wasm');
    for (const [rows, c] of [
      [1, 4],
      [63, 8],
      [64, 4],
      [65, 12],
      [1000, 32],
    ]) {
      const x = tensor([rows, c], `x${rows}`);
      const [simd, js] = bothWays(() => sumLeading(x, rows, c, 0.5, [c]));
      expect(relativeError(simd[0], js[0])).toBeLessThan(1e-6);
      const y = tensor([rows, c], `m${rows}`);
      const fused = reluGradientAndBiasSum(x, y);
      expect(fused).not.toBeNull();
      const [masked, bias] = fused as [tf.Tensor, tf.Tensor];
      const refMasked = tf.tidy(() => tf.where(tf.greater(y, 0), x, tf.zerosLike(x)));
      expect(Array.from(masked.dataSync())).toEqual(Array.from(refMasked.dataSync()));
      expect(masked.shape).toEqual([rows, c]);
      expect(relativeError(bias.dataSync(), tf.sum(refMasked, 0).dataSync())).toBeLessThan(1e-5);
    }
    // channels not a multiple of 4: no fused path, callers fall back
    expect(reluGradientAndBiasSum(tensor([5, 3], 'a'), tensor([5, 3], 'b'))).toBeNull();
  });

  it('column sums stay accurate over a million rows (f64 accumulation)', async () => {
    await useBackend('wasm');
    const rows = 1 << 20;
    const x = tf.fill([rows, 4], 0.1);
    const sum = sumLeading(x, rows, 4, 1, [4]).dataSync();
    for (const v of sum) expect(Math.abs(v - rows * Math.fround(0.1)) / (rows * 0.1)).toBeLessThan(1e-6);
  });

  it('batched 2D transpose (permute3 [0,2,1]) for any sizes', async () => {
    await useBackend('wasm');
    for (const dims of [
      [1, 1, 1],
      [2, 5, 7],
      [3, 8, 12],
      [1, 4096, 128],
      [2, 13, 4],
    ] as Array<[number, number, number]>) {
      const x = tensor(dims, `t${dims}`);
      const [simd, js] = bothWays(() => permute3(x, dims, [0, 2, 1], [dims[0], dims[2], dims[1]]));
      expect(Array.from(simd[0])).toEqual(Array.from(js[0]));
    }
  });

  it('phase interleave equals the JS copy (odd sizes crop the last phase)', async () => {
    await useBackend('wasm');
    for (const [n, h, w, c, sh, sw] of [
      [2, 7, 9, 3, 2, 2],
      [1, 8, 8, 8, 2, 2],
      [2, 6, 9, 5, 1, 3],
    ]) {
      const [qh, qw] = [Math.ceil(h / sh), Math.ceil(w / sw)];
      const phases = Array.from({ length: sh }, (_, a) => Array.from({ length: sw }, (_, b) => tensor([n, qh, qw, c], `p${a}${b}${n}${h}`) as tf.Tensor4D));
      const [simd, js] = bothWays(() => interleavePhases(phases, [n, h, w, c]));
      expect(Array.from(simd[0])).toEqual(Array.from(js[0]));
    }
  });

  it('2x2 max-pool gradient: ties keep the first, NaN never wins, all-negative windows', async () => {
    await useBackend('wasm');
    const [n, h, w, c] = [2, 6, 8, 8];
    const data = randomArray(n * h * w * c, makeRng('pool'));
    for (let i = 0; i < data.length; i += 11) data[i] = data[i + 1] ?? data[i]; // ties
    for (let i = 3; i < data.length; i += 29) data[i] = NaN;
    for (let i = 0; i < 64; i++) data[i] = -5 - (i % 3); // negative windows
    const x = tf.tensor4d(data, [n, h, w, c]);
    const dy = tensor([n, h / 2, w / 2, c], 'pooldy') as tf.Tensor4D;
    const info = tf.backend_util.computePool2DInfo(x.shape, 2, 2, 1, 'valid');
    const [simd, js] = bothWays(() => maxPoolGradient(dy, x, info) as tf.Tensor4D);
    expect(Array.from(simd[0])).toEqual(Array.from(js[0]));
    // every dy value lands exactly once
    const total = (a: Float32Array) => a.reduce((s, v) => s + v, 0);
    expect(total(simd[0])).toBeCloseTo(total(dy.dataSync() as Float32Array), 3);
  });

  for (const method of ['grid', 'im2col'] as const) {
    it(`conv filter gradient by ${method}: SIMD layout equals the JS layout`, async () => {
      await useBackend('wasm');
      for (const [h, w, ci, co, k, s, pad] of [
        [9, 8, 3, 8, 3, 1, 'same'],
        [10, 9, 8, 4, 3, 2, 'same'],
        [7, 7, 5, 6, 3, 2, 'valid'],
      ] as const) {
        const x = tensor([3, h, w, ci], `cx${h}${ci}`) as tf.Tensor4D;
        const outShape = tf.tidy(() => tf.conv2d(x, tf.zeros<tf.Rank.R4>([k, k, ci, co]), s, pad).shape);
        const dy = tensor(outShape, `cdy${h}${ci}`) as tf.Tensor4D;
        const attrs = { strides: [s, s], pad, dataFormat: 'NHWC', dimRoundingMode: undefined } as unknown as tf.NamedAttrMap;
        const [simd, js] = bothWays(() => conv2dFilterGradient(x, dy, [k, k, ci, co], attrs, { method, block: 200 }));
        expect(relativeError(simd[0], js[0])).toBeLessThan(1e-6);
      }
    });
  }

  for (const method of ['grid', 'im2col'] as const) {
    it(`our GEMM equals XNNPACK's product in the ${method} filter gradient (row tiles with 1-3 rows left, K blocks)`, async () => {
      await useBackend('wasm');
      // GEMM rows: im2col kh*kw*ci = 27, 9, 1, 18, 45; grid ci = 3, 1, 1, 2, 5
      for (const [k, ci, co, s] of [
        [3, 3, 16, 1],
        [3, 1, 8, 1],
        [1, 1, 24, 1],
        [3, 2, 8, 2],
        [3, 5, 16, 2],
      ]) {
        const x = tensor([3, 7, 9, ci], `g${k}${ci}${co}${s}`) as tf.Tensor4D;
        const outShape = tf.tidy(() => tf.conv2d(x, tf.zeros<tf.Rank.R4>([k, k, ci, co]), s, 'same').shape);
        const dy = tensor(outShape, `gdy${k}${ci}${co}${s}`) as tf.Tensor4D;
        const attrs = { strides: [s, s], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined } as unknown as tf.NamedAttrMap;
        const run = (ours: boolean) => {
          const g = conv2dFilterGradient(x, dy, [k, k, ci, co], attrs, { method, block: 100, simdGemm: ours });
          const out = g.dataSync() as Float32Array;
          g.dispose();
          return out;
        };
        expect(relativeError(run(true), run(false))).toBeLessThan(1e-6);
      }
    });
  }

  it('with the SIMD kernels off, a conv + bias + ReLU + pool still matches the cpu backend', async () => {
    setSimdKernelsEnabled(false);
    onTestFinished(() => setSimdKernelsEnabled(true));
    const rng = makeRng('off');
    const x = { shape: [2, 8, 8, 4], data: randomArray(2 * 8 * 8 * 4, rng) };
    const w = { shape: [3, 3, 4, 8], data: randomArray(3 * 3 * 4 * 8, rng, 0.5) };
    const b = { shape: [8], data: randomArray(8, rng, 0.1) };
    const errors = await compareGradients([x, w, b], (xt, wt, bt) =>
      tf.sum(tf.square(tf.maxPool(tf.relu(tf.add(tf.conv2d(xt as tf.Tensor4D, wt as tf.Tensor4D, 1, 'same'), bt)) as tf.Tensor4D, 2, 2, 'valid'))),
    );
    for (const e of errors) expect(e).toBeLessThan(1e-4);
  });
});
