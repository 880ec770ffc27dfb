/**
 * DeepFool against linear softmax classifiers, where the exact distances are known:
 * L∞ distance to class k's boundary = |f_ŷ − f_k| / ‖w_ŷ − w_k‖₁ (L2: / ‖w_ŷ − w_k‖₂).
 * Inputs sit near 0.5 and the distances are small, so the pixel box never binds.
 */
import * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';
import { beforeAll, describe, expect, it } from 'vitest';
import { computeDeepFoolMargins } from '../../../src-main/engine/margins';
import { gaussian, linearClassifier, logitsOfLinear, useCpuBackend, type LinearClassifier } from './helpers';

const SHAPE: [number, number, number] = [4, 4, 1];
const D = 16;
const CLASSES = 5;
const OVERSHOOT = 0.02;

beforeAll(useCpuBackend);

function norm(v: number[], kind: 'linf' | 'l2'): number {
  // Dual norms: the L∞ distance divides by ‖·‖₁, the L2 distance by ‖·‖₂.
  return kind === 'linf' ? v.reduce((s, a) => s + Math.abs(a), 0) : Math.sqrt(v.reduce((s, a) => s + a * a, 0));
}

function boundaryDistance(model: LinearClassifier, x: number[], from: number, to: number, kind: 'linf' | 'l2'): number {
  const z = logitsOfLinear(model, x);
  const w = model.weights[from]!.map((v, p) => v - model.weights[to]![p]!);
  return Math.abs(z[from]! - z[to]!) / norm(w, kind);
}

/** Each w_k sums to zero, so at x = 0.5·1 only the bias separates the classes: small distances. */
function centeredWeights(rng: () => number): number[][] {
  return Array.from({ length: CLASSES }, () => {
    const w = Array.from({ length: D }, () => gaussian(rng));
    const mean = w.reduce((s, v) => s + v, 0) / D;
    return w.map((v) => v - mean);
  });
}

function samplesNearHalf(n: number, rng: () => number): number[][] {
  return Array.from({ length: n }, () => Array.from({ length: D }, () => 0.5 + 0.03 * gaussian(rng)));
}

function argmax(v: number[]): number {
  return v.reduce((best, value, k) => (value > v[best]! ? k : best), 0);
}

describe('DeepFool on linear classifiers: correctly classified samples', () => {
  for (const kind of ['linf', 'l2'] as const) {
    it(`${kind}: margin = (1 + overshoot) × min_k exact distance, within 1e-3 relative`, () => {
      const rng = seedrandom(`df-linear-${kind}`);
      const model = linearClassifier(
        centeredWeights(rng),
        Array.from({ length: CLASSES }, () => 0.3 * gaussian(rng)),
      );
      const xs = samplesNearHalf(64, rng);
      const labels = xs.map((x) => argmax(logitsOfLinear(model, x)));
      const expected = xs.map((x, i) =>
        Math.min(
          ...Array.from({ length: CLASSES }, (_, k) => k)
            .filter((k) => k !== labels[i])
            .map((k) => boundaryDistance(model, x, labels[i]!, k, kind)),
        ),
      );
      // The box must not bind: every coordinate moves by at most the (overshot) distance.
      const usable = expected.map((d) => (1 + OVERSHOOT) * d < 0.3);
      expect(usable.filter(Boolean).length).toBeGreaterThan(40);

      const before = tf.memory().numTensors;
      const x = tf.tensor4d(xs.flat(), [xs.length, ...SHAPE]);
      const result = computeDeepFoolMargins(model.fn, x, labels, { norm: kind });
      // Plain DeepFool (no segment refinement) is exact on a linear model too.
      const plain = computeDeepFoolMargins(model.fn, x, labels, { norm: kind, refineSteps: 0 });
      x.dispose();
      expect(tf.memory().numTensors).toBe(before);

      let checked = 0;
      expected.forEach((d, i) => {
        if (!usable[i]) return;
        checked++;
        expect(result.margins[i]!).toBeGreaterThan(0);
        expect(Math.abs(result.margins[i]! / ((1 + OVERSHOOT) * d) - 1)).toBeLessThan(1e-3);
        expect(Math.abs(plain.margins[i]! / ((1 + OVERSHOOT) * d) - 1)).toBeLessThan(1e-3);
        expect(result.iterations[i]).toBe(1);
        expect(result.converged[i]).toBe(1);
      });
      expect(checked).toBeGreaterThan(40);
      // One gradient per (sample, other class): C − 1 per sample, one iteration each.
      expect(result.gradEvals).toBe(xs.length * (CLASSES - 1));
    });
  }

  it('candidates = 2 only looks at the runner-up class', () => {
    const rng = seedrandom('df-candidates');
    const model = linearClassifier(
      centeredWeights(rng),
      Array.from({ length: CLASSES }, () => 0.3 * gaussian(rng)),
    );
    const xs = samplesNearHalf(32, rng);
    const labels = xs.map((x) => argmax(logitsOfLinear(model, x)));
    const x = tf.tensor4d(xs.flat(), [xs.length, ...SHAPE]);
    const all = computeDeepFoolMargins(model.fn, x, labels, { candidates: CLASSES });
    // Without the segment refinement, which could find a third class's boundary on the way.
    const top2 = computeDeepFoolMargins(model.fn, x, labels, { candidates: 2, refineSteps: 0 });
    x.dispose();
    let differs = 0;
    xs.forEach((xi, i) => {
      const z = logitsOfLinear(model, xi);
      const runnerUp = argmax(z.map((v, k) => (k === labels[i] ? -Infinity : v)));
      const d = boundaryDistance(model, xi, labels[i]!, runnerUp, 'linf');
      if ((1 + OVERSHOOT) * d >= 0.3) return;
      // One step towards the runner-up always flips the prediction (maybe to a third class).
      expect(Math.abs(top2.margins[i]! / ((1 + OVERSHOOT) * d) - 1)).toBeLessThan(1e-3);
      expect(top2.margins[i]!).toBeGreaterThanOrEqual(all.margins[i]! * (1 - 1e-6));
      if (top2.margins[i]! > all.margins[i]! * 1.01) differs++;
    });
    // The restriction matters for some samples (the closest boundary is not always the runner-up's).
    expect(differs).toBeGreaterThan(0);
    expect(top2.gradEvals).toBe(xs.length);
  });
});

describe('DeepFool on linear classifiers: misclassified samples', () => {
  for (const kind of ['linf', 'l2'] as const) {
    it(`${kind}: negative margin of size (1 + overshoot)·(f_ŷ − f_y)/‖w_ŷ − w_y‖ when one class outscores y`, () => {
      const rng = seedrandom(`df-wrong-${kind}`);
      // Classes 0 and 1 dominate (large bias); the label is the lower of the two.
      const model = linearClassifier(centeredWeights(rng), [4, 4, -4, -4, -4]);
      const xs = samplesNearHalf(48, rng);
      const labels = xs.map((x) => {
        const z = logitsOfLinear(model, x);
        return z[0]! < z[1]! ? 0 : 1;
      });
      const x = tf.tensor4d(xs.flat(), [xs.length, ...SHAPE]);
      const result = computeDeepFoolMargins(model.fn, x, labels, { norm: kind, returnPerturbed: true });
      const perturbed = result.perturbed!.arraySync().map((img) => img.flat(2));
      tf.dispose([x, result.perturbed!]);

      let checked = 0;
      xs.forEach((xi, i) => {
        const y = labels[i]!;
        const z = logitsOfLinear(model, xi);
        const top = argmax(z);
        expect(top).not.toBe(y);
        const others = z.filter((_, k) => k !== y && k !== top);
        const d = boundaryDistance(model, xi, top, y, kind);
        // "All others far below": at least 2 logits under y, and the box does not bind.
        if (Math.max(...others) > z[y]! - 2 || (1 + OVERSHOOT) * d >= 0.3) return;
        checked++;
        expect(result.margins[i]!).toBeLessThan(0);
        expect(Math.abs(-result.margins[i]! / ((1 + OVERSHOOT) * d) - 1)).toBeLessThan(1e-3);
        // The final point is classified as y.
        expect(argmax(logitsOfLinear(model, perturbed[i]!))).toBe(y);
      });
      expect(checked).toBeGreaterThan(20);
    });
  }

  it('several classes above y: the point ends classified as y with a negative margin', () => {
    const rng = seedrandom('df-wrong-many');
    const model = linearClassifier(centeredWeights(rng), [0, 0, 0, 0, 0]);
    const xs = samplesNearHalf(40, rng);
    // The label is each sample's lowest-scoring class: every other class is above it.
    const labels = xs.map((xi) => {
      const z = logitsOfLinear(model, xi);
      return z.reduce((best, v, k) => (v < z[best]! ? k : best), 0);
    });
    const x = tf.tensor4d(xs.flat(), [xs.length, ...SHAPE]);
    const result = computeDeepFoolMargins(model.fn, x, labels, { returnPerturbed: true });
    const perturbed = result.perturbed!.arraySync().map((img) => img.flat(2));
    tf.dispose([x, result.perturbed!]);
    xs.forEach((_, i) => {
      expect(result.converged[i]).toBe(1);
      expect(result.margins[i]!).toBeLessThan(0);
      expect(argmax(logitsOfLinear(model, perturbed[i]!))).toBe(labels[i]);
    });
  });
});

describe('DeepFool input checks', () => {
  it('rejects bad labels and options with the file name', () => {
    const model = linearClassifier([Array(D).fill(1), Array(D).fill(-1)], [0, 0]);
    const x = tf.zeros([2, ...SHAPE]) as tf.Tensor4D;
    expect(() => computeDeepFoolMargins(model.fn, x, [0, 2])).toThrow(/deepfool\.ts.*label 1 = 2/);
    expect(() => computeDeepFoolMargins(model.fn, x, [0])).toThrow(/deepfool\.ts.*1 labels for 2 samples/);
    expect(() => computeDeepFoolMargins(model.fn, x, [0, 1], { maxIter: 0 })).toThrow(/deepfool\.ts.*maxIter/);
    expect(() => computeDeepFoolMargins(model.fn, x, [0, 1], { norm: 'l1' as 'l2' })).toThrow(/deepfool\.ts.*norm/);
    x.dispose();
  });
});
