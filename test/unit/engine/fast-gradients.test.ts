import { describe, it, expect, onTestFinished } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { compareGradients, makeRng, randomArray, relativeError, useBackend, type Spec } from './helpers';
import { conv2dBiasRelu, FAST_WASM_KERNELS, fastGradientsInstalled, installFastGradients } from '../../../src-main/engine/fast-gradients';
import { createModel } from '../../../src-main/engine/models';
import { crossEntropyPerSample } from '../../../src-main/engine/attacks/losses';

const meanCrossEntropy = (logits: tf.Tensor2D, y: tf.Tensor1D) => tf.mean(crossEntropyPerSample(logits, y)) as tf.Scalar;

const TOL = 1e-4;

function spec(shape: number[], rng: () => number, scale = 1): Spec {
  return {
    shape,
    data: randomArray(
      shape.reduce((a, b) => a * b, 1),
      rng,
      scale,
    ),
  };
}

interface ConvCase {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  k: number;
  s: number;
  pad: 'same' | 'valid';
}

/** Relative errors (dx, dW) of the wasm conv gradients against cpu for one case, random inputs from `seed`. */
async function convGradientErrors(c: ConvCase, seed: string): Promise<number[]> {
  const rng = makeRng(seed);
  const x = spec([c.n, c.h, c.w, c.ci], rng);
  const w = spec([c.k, c.k, c.ci, c.co], rng, 0.5);
  // Weighted sum so every output element has a different upstream gradient.
  const outShape = tf.tidy(
    () =>
      tf.conv2d(
        tf.zeros<tf.Rank.R4>(x.shape as [number, number, number, number]),
        tf.zeros<tf.Rank.R4>(w.shape as [number, number, number, number]),
        c.s,
        c.pad,
      ).shape as number[],
  );
  const weights = spec(outShape, rng);
  return compareGradients([x, w], (xt, wt) =>
    tf.sum(tf.mul(tf.conv2d(xt as tf.Tensor4D, wt as tf.Tensor4D, c.s, c.pad), tf.tensor(weights.data, weights.shape))),
  );
}

describe('fast wasm gradients match the pure-JS cpu backend', () => {
  it('installs the replacement kernels on wasm', async () => {
    await useBackend('wasm');
    expect(fastGradientsInstalled()).toBe(true);
    for (const k of FAST_WASM_KERNELS) expect(tf.getKernel(k, 'wasm'), k).toBeDefined();
  });

  const convCases: ConvCase[] = [
    { n: 2, h: 8, w: 8, ci: 3, co: 4, k: 3, s: 1, pad: 'same' },
    { n: 3, h: 9, w: 7, ci: 5, co: 6, k: 3, s: 2, pad: 'same' },
    { n: 2, h: 8, w: 8, ci: 4, co: 8, k: 3, s: 2, pad: 'same' },
    { n: 2, h: 10, w: 11, ci: 3, co: 5, k: 3, s: 2, pad: 'valid' },
    { n: 2, h: 7, w: 7, ci: 4, co: 3, k: 5, s: 1, pad: 'valid' },
    { n: 2, h: 8, w: 8, ci: 6, co: 4, k: 1, s: 2, pad: 'same' },
    { n: 1, h: 12, w: 9, ci: 2, co: 3, k: 4, s: 3, pad: 'same' },
    { n: 3, h: 10, w: 7, ci: 2, co: 6, k: 3, s: 1, pad: 'valid' },
    { n: 2, h: 9, w: 8, ci: 1, co: 5, k: 4, s: 1, pad: 'same' },
    { n: 2, h: 6, w: 6, ci: 3, co: 8, k: 1, s: 1, pad: 'same' },
    // larger channel counts
    { n: 3, h: 8, w: 7, ci: 9, co: 5, k: 3, s: 1, pad: 'same' },
    { n: 2, h: 9, w: 10, ci: 8, co: 6, k: 3, s: 2, pad: 'same' },
    { n: 2, h: 11, w: 9, ci: 10, co: 4, k: 3, s: 2, pad: 'valid' },
    { n: 2, h: 7, w: 8, ci: 8, co: 3, k: 5, s: 1, pad: 'valid' },
    { n: 2, h: 8, w: 8, ci: 12, co: 7, k: 1, s: 2, pad: 'same' },
    { n: 1, h: 12, w: 10, ci: 8, co: 3, k: 4, s: 3, pad: 'same' },
    { n: 2, h: 9, w: 9, ci: 8, co: 5, k: 2, s: 2, pad: 'valid' },
    { n: 2, h: 6, w: 5, ci: 16, co: 16, k: 5, s: 1, pad: 'same' },
  ];
  // Each case with both filter-gradient methods: per-tap GEMMs over a zero-padded grid, and im2col.
  for (const c of convCases.flatMap((c) => (['grid', 'im2col'] as const).map((method) => ({ ...c, method })))) {
    it(`conv2d ${c.h}x${c.w}x${c.ci}->${c.co} k${c.k} s${c.s} ${c.pad}, dW by ${c.method}: dx and dW`, async () => {
      installFastGradients({ method: c.method });
      onTestFinished(() => installFastGradients());
      for (const e of await convGradientErrors(c, JSON.stringify(c))) expect(e).toBeLessThan(TOL);
    });
  }

  // One image per GEMM K block: the blocked layouts (rows of a block contiguous) and the sum over blocks.
  for (const c of convCases.filter((c) => c.n >= 2).flatMap((c) => (['grid', 'im2col'] as const).map((method) => ({ ...c, method })))) {
    it(`conv2d ${c.h}x${c.w}x${c.ci}->${c.co} k${c.k} s${c.s} ${c.pad}, dW by ${c.method} in per-image K blocks`, async () => {
      installFastGradients({ method: c.method, block: 1 });
      onTestFinished(() => installFastGradients());
      for (const e of await convGradientErrors(c, `blocks ${JSON.stringify(c)}`)) expect(e).toBeLessThan(TOL);
    });
  }

  it('rejects a non-positive filter-gradient block', () => {
    expect(() => installFastGradients({ block: 0 })).toThrow(/fast-gradients: the filter-gradient block must be a positive integer, got 0/);
  });

  // The fused kernel the models use while training (wasm), against stock conv + add + relu on cpu.
  for (const c of [
    { n: 2, h: 8, w: 8, ci: 3, co: 4, s: 1, pad: 'same' as const },
    { n: 3, h: 9, w: 7, ci: 9, co: 6, s: 2, pad: 'same' as const },
    { n: 2, h: 10, w: 11, ci: 8, co: 5, s: 2, pad: 'valid' as const },
  ]) {
    it(`conv2dBiasRelu ${c.h}x${c.w}x${c.ci}->${c.co} s${c.s} ${c.pad}: value and gradients of x, filter and bias`, async () => {
      const rng = makeRng(`bias-relu ${JSON.stringify(c)}`);
      const x = spec([c.n, c.h, c.w, c.ci], rng);
      const w = spec([3, 3, c.ci, c.co], rng, 0.5);
      const b = spec([c.co], rng, 0.5);
      const outShape = tf.tidy(
        () =>
          tf.conv2d(
            tf.zeros<tf.Rank.R4>(x.shape as [number, number, number, number]),
            tf.zeros<tf.Rank.R4>(w.shape as [number, number, number, number]),
            c.s,
            c.pad,
          ).shape as number[],
      );
      const weights = spec(outShape, rng);
      const f = (xt: tf.Tensor, wt: tf.Tensor, bt: tf.Tensor) =>
        tf.sum(tf.mul(conv2dBiasRelu(xt as tf.Tensor4D, wt as tf.Tensor4D, bt as tf.Tensor1D, [c.s, c.s], c.pad), tf.tensor(weights.data, weights.shape)));
      const errors = await compareGradients([x, w, b], f);
      for (const e of errors) expect(e).toBeLessThan(TOL);
      const values = async (backend: 'cpu' | 'wasm') => {
        await useBackend(backend);
        return tf
          .tidy(() =>
            conv2dBiasRelu(
              tf.tensor4d(x.data, x.shape as [number, number, number, number]),
              tf.tensor4d(w.data, w.shape as [number, number, number, number]),
              tf.tensor1d(b.data),
              [c.s, c.s],
              c.pad,
            ),
          )
          .data();
      };
      const ref = await values('cpu');
      const fast = await values('wasm');
      expect(ref.some((v) => v === 0) && ref.some((v) => v > 0)).toBe(true);
      expect(relativeError(fast as Float32Array, ref as Float32Array)).toBeLessThan(TOL);
    });
  }

  it('fused conv2d with bias + relu (the tf.layers path)', async () => {
    const rng = makeRng('fused');
    const x = spec([2, 8, 8, 3], rng);
    const w = spec([3, 3, 3, 4], rng, 0.5);
    const b = spec([4], rng);
    const errors = await compareGradients([x, w, b], (xt, wt, bt) =>
      tf.sum(tf.square(tf.fused.conv2d({ x: xt as tf.Tensor4D, filter: wt as tf.Tensor4D, strides: 2, pad: 'same', bias: bt, activation: 'relu' }))),
    );
    for (const e of errors) expect(e).toBeLessThan(TOL);
  });

  it('max-pool gradient: overlapping 3x3 stride-2 windows, same and valid padding, negative values', async () => {
    const rng = makeRng('maxpool');
    const x = spec([2, 9, 8, 5], rng);
    for (const pad of ['same', 'valid'] as const) {
      const outShape = tf.tidy(() => tf.maxPool(tf.zeros<tf.Rank.R4>([2, 9, 8, 5]), 3, 2, pad).shape as number[]);
      const weights = spec(outShape, rng);
      const errors = await compareGradients([x], (xt) =>
        tf.sum(tf.mul(tf.maxPool(tf.sub(xt, 2) as tf.Tensor4D, 3, 2, pad), tf.tensor(weights.data, weights.shape))),
      );
      for (const e of errors) expect(e).toBeLessThan(TOL);
    }
  });

  it('relu gradient (one-pass kernel) including exact zeros', async () => {
    const rng = makeRng('relu');
    const x = spec([4, 33], rng);
    for (let i = 0; i < x.data.length; i += 7) x.data[i] = 0;
    const weights = spec([4, 33], rng);
    const errors = await compareGradients([x], (xt) => tf.sum(tf.mul(tf.relu(xt), tf.tensor(weights.data, weights.shape))));
    for (const e of errors) expect(e).toBeLessThan(TOL);
  });

  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    it(`matmul transposeA=${ta} transposeB=${tb} and its gradients`, async () => {
      const rng = makeRng(`mm${ta}${tb}`);
      const a = spec(ta ? [7, 5] : [5, 7], rng);
      const b = spec(tb ? [6, 7] : [7, 6], rng);
      const c = spec([5, 6], rng);
      const errors = await compareGradients([a, b], (at, bt) => tf.sum(tf.mul(tf.matMul(at, bt, ta, tb), tf.tensor(c.data, c.shape))));
      for (const e of errors) expect(e).toBeLessThan(TOL);
    });
  }

  it('batched matmul with transpose flags (forward values)', async () => {
    const rng = makeRng('bmm');
    const a = spec([3, 4, 5], rng);
    const b = spec([3, 6, 5], rng);
    const run = async (backend: 'cpu' | 'wasm') => {
      await useBackend(backend);
      return tf.tidy(() => tf.matMul(tf.tensor(a.data, a.shape), tf.tensor(b.data, b.shape), false, true).dataSync() as Float32Array);
    };
    expect(relativeError(await run('wasm'), await run('cpu'))).toBeLessThan(TOL);
  });

  it('sum and mean over leading axes (keepDims or not) and other axes', async () => {
    const rng = makeRng('reduce');
    const x = spec([4, 3, 5, 6], rng);
    for (const [axes, keep] of [
      [[0, 1, 2], false],
      [[0], true],
      [[1, 0], false],
      [[1, 3], false],
      [[-1], false],
    ] as Array<[number[], boolean]>) {
      const run = async (backend: 'cpu' | 'wasm') => {
        await useBackend(backend);
        return tf.tidy(() => {
          const t = tf.tensor(x.data, x.shape);
          const s = tf.sum(t, axes, keep);
          const m = tf.mean(t, axes, keep);
          return { shape: s.shape, s: s.dataSync() as Float32Array, m: m.dataSync() as Float32Array };
        });
      };
      const fast = await run('wasm');
      const ref = await run('cpu');
      expect(fast.shape).toEqual(ref.shape);
      expect(relativeError(fast.s, ref.s)).toBeLessThan(TOL);
      expect(relativeError(fast.m, ref.m)).toBeLessThan(TOL);
    }
  });

  it('pooling (max, avg, global avg), batch norm, activations and losses', async () => {
    const rng = makeRng('misc');
    const x = spec([2, 8, 8, 4], rng);
    const gamma = spec([4], rng);
    const beta = spec([4], rng);
    const target = spec([2, 10], rng);
    const errors = await compareGradients([x, gamma, beta, target], (xt, g, b, t) => {
      const { mean, variance } = tf.moments(xt, [0, 1, 2]);
      const bn = tf.batchNorm(xt, mean, variance, b, g, 1e-5);
      const silu = tf.mul(bn, tf.sigmoid(bn));
      const mp = tf.maxPool(silu as tf.Tensor4D, 2, 2, 'same');
      const ap = tf.avgPool(tf.relu(bn) as tf.Tensor4D, 2, 2, 'valid');
      const gap = tf.mean(tf.add(mp, tf.tanh(ap)), [1, 2]); // [2,4]
      const logits = tf.concat([gap, tf.elu(gap), tf.leakyRelu(gap, 0.1), tf.slice(tf.relu6(gap), [0, 0], [2, 2])], 1); // [2,14]
      const l = tf.slice(logits, [0, 0], [2, 10]);
      const labels = tf.softmax(t);
      const ce = tf.losses.softmaxCrossEntropy(labels, l);
      const logp = tf.logSoftmax(l);
      const kl = tf.sum(tf.mul(labels, tf.sub(tf.log(labels), logp)));
      return tf.add(ce, kl);
    });
    for (const e of errors) expect(e).toBeLessThan(TOL);
  });

  for (const arch of ['cnn-small', 'resnet18', 'wrn'] as const) {
    it(`${arch}: loss gradient w.r.t. every weight and the input`, async () => {
      // Batch norm over very few values (batch x 1x1 in the last stage) is ill-conditioned in float32,
      // so resnet18 gets 16x16 inputs and a batch of 6.
      const inputShape: [number, number, number] = arch === 'cnn-small' ? [12, 12, 3] : arch === 'resnet18' ? [16, 16, 3] : [8, 8, 3];
      const opts = {
        inputShape,
        numClasses: 10,
        width: arch === 'wrn' ? 1 : 8,
        depth: arch === 'wrn' ? 10 : undefined,
        seed: 7,
        normalization: { mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3] },
      };
      const rng = makeRng(arch);
      const labels = arch === 'resnet18' ? [1, 4, 9, 0, 2, 7] : [1, 4, 9];
      const x = spec([labels.length, ...inputShape], rng);
      x.data = x.data.map((v) => (v + 1) / 2);
      const run = async (backend: 'cpu' | 'wasm') => {
        await useBackend(backend);
        const model = createModel(arch, opts);
        const out = tf.tidy(() => {
          const xt = tf.tensor4d(x.data, x.shape as [number, number, number, number]);
          const y = tf.tensor1d(labels, 'int32');
          const weights = model.trainableWeights.map((w) => w.read() as tf.Variable);
          const f = () => meanCrossEntropy(model.apply(xt, { training: true }) as tf.Tensor2D, y);
          const { grads } = tf.variableGrads(f, weights);
          const gx = tf.grad((inp: tf.Tensor) => meanCrossEntropy(model.apply(inp, { training: true }) as tf.Tensor2D, y))(xt);
          return [...weights.map((w) => grads[w.name].dataSync() as Float32Array), gx.dataSync() as Float32Array];
        });
        model.dispose();
        return out;
      };
      const ref = await run('cpu');
      const fast = await run('wasm');
      expect(fast.length).toBe(ref.length);
      if (process.env.PRINT_ERR) console.log(arch, fast.map((g, i) => relativeError(g, ref[i]).toExponential(1)).join(' '));
      fast.forEach((g, i) => expect(relativeError(g, ref[i]), `gradient #${i}`).toBeLessThan(TOL));
    });
  }
});

describe('flipped-filter cache', () => {
  it('reuses filters while weights are unchanged and never serves stale ones after an assign', async () => {
    const rng = makeRng('cache');
    const x = spec([2, 9, 9, 4], rng);
    const w1 = spec([3, 3, 4, 5], rng);
    const w2 = spec([3, 3, 4, 5], rng);
    const inputGrad = (wData: Spec, variable?: tf.Variable) =>
      tf.tidy(() => {
        const w = variable ?? tf.tensor4d(wData.data, wData.shape as [number, number, number, number]);
        const xt = tf.tensor4d(x.data, x.shape as [number, number, number, number]);
        return tf
          .grad((xi: tf.Tensor) => tf.sum(tf.square(tf.conv2d(xi as tf.Tensor4D, w as tf.Tensor4D, 2, 'same'))))(xt)
          .dataSync() as Float32Array;
      });
    await useBackend('cpu');
    const ref1 = inputGrad(w1);
    const ref2 = inputGrad(w2);
    await useBackend('wasm');
    const v = tf.variable(tf.tensor4d(w1.data, w1.shape as [number, number, number, number]));
    const a = inputGrad(w1, v);
    const b = inputGrad(w1, v); // cache hit
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(relativeError(a, ref1)).toBeLessThan(TOL);
    v.assign(tf.tensor4d(w2.data, w2.shape as [number, number, number, number]));
    expect(relativeError(inputGrad(w2, v), ref2)).toBeLessThan(TOL);
    v.dispose();
  });
});
