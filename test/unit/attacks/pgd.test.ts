import * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  attackLossPerSample,
  bimAttack,
  crossEntropyPerSample,
  cwLossPerSample,
  fgsmAttack,
  linfAttack,
  pgdAttack,
  tradesKlPerSample,
  type AttackLoss,
} from '../../../src-main/engine/attacks';
import { gaussian, linearClassifier, useCpuBackend, type LinearClassifier } from './helpers';

const SHAPE: [number, number, number] = [4, 4, 1];
const D = 16;
const CLASSES = 3;

let linear: LinearClassifier;
let conv: tf.LayersModel;
let images: tf.Tensor4D;
let labels: Int32Array;
// Signed radii: adversarial, zero, anti-adversarial; the box binds for the larger ones.
const radii = [0.1, 0.03, 0, -0.05, -0.2, 0.3, 0, -0.01];
const N = radii.length;

beforeAll(async () => {
  await useCpuBackend();
  const rng = seedrandom('pgd');
  linear = linearClassifier(
    Array.from({ length: CLASSES }, () => Array.from({ length: D }, () => gaussian(rng))),
    [0, 0.2, -0.1],
  );
  conv = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: SHAPE, filters: 3, kernelSize: 3, activation: 'relu', kernelInitializer: tf.initializers.glorotNormal({ seed: 3 }) }),
      tf.layers.flatten(),
      tf.layers.dense({ units: CLASSES, kernelInitializer: tf.initializers.glorotNormal({ seed: 4 }) }),
    ],
  });
  // Pixels near 0 and 1 included so that the box binds.
  const x = Float32Array.from({ length: N * D }, (_, p) => (p % 7 === 0 ? 0 : p % 11 === 0 ? 1 : rng()));
  images = tf.keep(tf.tensor4d(x, [N, ...SHAPE]));
  labels = Int32Array.from({ length: N }, (_, i) => i % CLASSES);
});

function lossValues(model: tf.LayersModel | LinearClassifier['fn'], loss: AttackLoss, x: tf.Tensor4D, pNat?: tf.Tensor2D): Float32Array {
  return tf.tidy(() => {
    const logits = typeof model === 'function' ? model(x) : (model.predict(x) as tf.Tensor2D);
    return attackLossPerSample(loss, logits, tf.tensor1d(labels, 'int32'), pNat).dataSync() as Float32Array;
  });
}

describe('losses', () => {
  it('computes CE, the C&W margin loss and the TRADES KL per sample', () => {
    tf.tidy(() => {
      const logits = tf.tensor2d([
        [3, 1, 2],
        [3, 1, 2],
      ]);
      const y = tf.tensor1d([0, 1], 'int32');
      const ce = crossEntropyPerSample(logits, y).arraySync();
      const lse = Math.log(Math.exp(3) + Math.exp(1) + Math.exp(2));
      expect(ce[0]).toBeCloseTo(lse - 3, 5);
      expect(ce[1]).toBeCloseTo(lse - 1, 5);
      // −clamp(z_y − max_{j≠y} z_j, 0): correct sample −(3 − 2) = −1; misclassified 0.
      expect(cwLossPerSample(logits, y).arraySync()).toEqual([-1, -0]);
      const pNat = tf.softmax(logits);
      const kl = tradesKlPerSample(logits, pNat).arraySync();
      expect(Math.abs(kl[0]!)).toBeLessThan(1e-6);
      const klOther = tradesKlPerSample(
        tf.tensor2d([
          [0, 0, 0],
          [0, 0, 0],
        ]),
        pNat,
      ).arraySync();
      const p = pNat.arraySync()[0]!;
      const expected = p.reduce((s, pk) => s + pk * Math.log(pk / (1 / 3)), 0);
      expect(klOther[0]).toBeCloseTo(expected, 5);
    });
  });
});

describe('L∞ attacks with per-sample radii', () => {
  const cases: [string, AttackLoss][] = [
    ['ce', 'ce'],
    ['cw', 'cw'],
    ['trades-kl', 'trades-kl'],
  ];
  for (const [name, loss] of cases) {
    it(`PGD (${name}) stays inside each ε_i-ball and [0, 1]; ε_i = 0 leaves x unchanged`, () => {
      for (const model of [linear.fn, conv] as const) {
        const before = tf.memory().numTensors;
        const adv = pgdAttack(model, images, labels, { eps: radii, steps: 5, stepSize: 0.05, loss, seed: 11 });
        const a = adv.dataSync();
        const x = images.dataSync();
        for (let i = 0; i < N; i++) {
          const r = Math.abs(radii[i]!);
          for (let p = i * D; p < (i + 1) * D; p++) {
            expect(Math.abs(a[p]! - x[p]!)).toBeLessThanOrEqual(r + 1e-6);
            expect(a[p]!).toBeGreaterThanOrEqual(0);
            expect(a[p]!).toBeLessThanOrEqual(1);
            if (r === 0) expect(a[p]).toBe(x[p]);
          }
        }
        // Something moved for the non-zero radii.
        let moved = 0;
        for (let p = 0; p < D; p++) moved = Math.max(moved, Math.abs(a[p]! - x[p]!));
        expect(moved).toBeGreaterThan(0.01);
        adv.dispose();
        expect(tf.memory().numTensors).toBe(before);
      }
    });
  }

  it('adversarial samples raise the loss, anti-adversarial ones lower the true-label CE', () => {
    for (const loss of ['ce', 'trades-kl'] as AttackLoss[]) {
      const pNat = tf.tidy(() => tf.softmax(linear.fn(images)));
      const adv = bimAttack(linear.fn, images, labels, { eps: radii, steps: 10, relativeStepSize: 0.25, loss });
      const lossBefore = lossValues(linear.fn, loss, images, pNat);
      const lossAfter = lossValues(linear.fn, loss, adv, pNat);
      const ceBefore = lossValues(linear.fn, 'ce', images);
      const ceAfter = lossValues(linear.fn, 'ce', adv);
      radii.forEach((r, i) => {
        if (r > 0) expect(lossAfter[i]!).toBeGreaterThan(lossBefore[i]!);
        if (r < 0) expect(ceAfter[i]!).toBeLessThan(ceBefore[i]! - 1e-4);
        if (r === 0) expect(ceAfter[i]).toBe(ceBefore[i]);
      });
      tf.dispose([pNat, adv]);
    }
  });

  it('the C&W loss drives correctly classified samples towards the boundary', () => {
    const adv = bimAttack(conv, images, labels, { eps: radii, steps: 10, relativeStepSize: 0.25, loss: 'cw' });
    const before = lossValues(conv, 'cw', images);
    const after = lossValues(conv, 'cw', adv);
    let checked = 0;
    radii.forEach((r, i) => {
      if (r > 0 && before[i]! < -1e-3) {
        expect(after[i]!).toBeGreaterThan(before[i]!);
        checked++;
      }
    });
    expect(checked).toBeGreaterThan(0);
    adv.dispose();
  });

  it('FGSM equals clip(x + ε·sign(∇CE)) computed by hand for a linear model', () => {
    const eps = [0.05, 0.1, 0, -0.05, -0.1, 0.02, 0.2, -0.2];
    const adv = fgsmAttack(linear.fn, images, labels, { eps });
    const a = adv.dataSync();
    const x = images.dataSync();
    for (let i = 0; i < N; i++) {
      const xi = Array.from(x.subarray(i * D, (i + 1) * D));
      const z = linear.weights.map((w, k) => w.reduce((s, wk, p) => s + wk * xi[p]!, linear.bias[k]!));
      const m = Math.max(...z);
      const e = z.map((v) => Math.exp(v - m));
      const sum = e.reduce((s, v) => s + v, 0);
      for (let p = 0; p < D; p++) {
        // ∂CE/∂x_p = Σ_k p_k w_kp − w_yp
        const g = linear.weights.reduce((s, w, k) => s + (e[k]! / sum) * w[p]!, 0) - linear.weights[labels[i]!]![p]!;
        const expected = Math.min(1, Math.max(0, xi[p]! + eps[i]! * Math.sign(g)));
        expect(a[i * D + p]).toBeCloseTo(expected, 5);
      }
    }
    adv.dispose();
  });

  it('uniform random start fills the ball; zero steps with no random start is the identity', () => {
    const start = linfAttack(linear.fn, images, labels, { eps: 0.1, steps: 0, randomStart: 'uniform', seed: 5 });
    const s = start.dataSync();
    const x = images.dataSync();
    let maxDiff = 0;
    for (let p = 0; p < s.length; p++) maxDiff = Math.max(maxDiff, Math.abs(s[p]! - x[p]!));
    expect(maxDiff).toBeGreaterThan(0.05);
    expect(maxDiff).toBeLessThanOrEqual(0.1 + 1e-6);
    const same = linfAttack(linear.fn, images, labels, { eps: 0.1, steps: 0 });
    expect(Array.from(same.dataSync())).toEqual(Array.from(x));
    tf.dispose([start, same]);
  });

  it('random starts are fixed by the seed, 0 included, for the uniform and the normal start', () => {
    for (const randomStart of ['uniform', 'normal'] as const) {
      const run = () => {
        const t = linfAttack(linear.fn, images, labels, { eps: 0.1, steps: 0, randomStart, randomStartStd: 0.01, seed: 0 });
        const v = Array.from(t.dataSync());
        t.dispose();
        return v;
      };
      const first = run();
      expect(run()).toEqual(first);
      expect(first).not.toEqual(Array.from(images.dataSync()));
    }
  });

  it('rejects bad options with the file name', () => {
    expect(() => pgdAttack(linear.fn, images, labels, { eps: [0.1, 0.2], steps: 3 })).toThrow(/pgd\.ts.*2 radii for 8 samples/);
    expect(() => pgdAttack(linear.fn, images, labels, { eps: 0.1, steps: -1 })).toThrow(/pgd\.ts.*steps/);
    expect(() => pgdAttack(linear.fn, images, [0, 1], { eps: 0.1, steps: 1 })).toThrow(/pgd\.ts.*2 labels for 8 samples/);
    expect(() => pgdAttack(linear.fn, images, labels, { eps: 0.1, steps: 1, stepSize: 0.1, relativeStepSize: 0.5 })).toThrow(/pgd\.ts/);
  });
});
