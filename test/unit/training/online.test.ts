/**
 * Online PUMA (Eq. 4) on a 1-pixel, 2-class linear model whose decision boundary is known
 * exactly: class 1 iff x > 0.5. The attack moves every sample straight at the boundary
 * (x' = x ± ε), so the largest m ∈ [−ε, ε] still classified correctly is the true signed
 * distance to 0.5, capped at ±ε (below −ε: "none" → −ε).
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { onlinePumaBatch } from '../../../src-main/engine/training';
import { wasm } from './helpers';

beforeAll(wasm);

function thresholdModel(): tf.LayersModel {
  const model = tf.sequential({
    layers: [tf.layers.flatten({ inputShape: [1, 1, 1] }), tf.layers.dense({ units: 2, useBias: true })],
  });
  // logit0 = 0.5 − x, logit1 = x − 0.5.
  model.layers[1]!.setWeights([tf.tensor2d([[-1, 1]]), tf.tensor1d([0.5, -0.5])]);
  return model;
}

// (x, y) and the true signed L∞ distance to the boundary x = 0.5 (positive when correct).
const samples: Array<[number, number]> = [
  [0.1, 0], // margin 0.4 > ε → ε
  [0.45, 0], // 0.05
  [0.55, 0], // −0.05 (misclassified)
  [0.8, 0], // −0.3 < −ε: wrong even at −ε → −ε
  [0.62, 1], // 0.12
  [0.4, 1], // −0.1
  [0.95, 1], // 0.45 → ε
  [0.52, 1], // 0.02
];
const trueMargin = ([x, y]: [number, number]) => (y === 0 ? 0.5 - x : x - 0.5);
const eps = 0.2;

function run(pruneMargin: number | null, rows = samples, eq2Eps = 0.1) {
  const model = thresholdModel();
  const x = tf.tensor4d(
    rows.map((s) => s[0]),
    [rows.length, 1, 1, 1],
  );
  const labels = tf.tensor1d(
    rows.map((s) => s[1]),
    'int32',
  );
  try {
    return onlinePumaBatch(model, x, labels, { eps, eq2Eps, pruneMargin, attackSteps: 3, attackStepSize: eps, searchSteps: 14, seed: 5 });
  } finally {
    x.dispose();
    labels.dispose();
    model.dispose();
  }
}

describe('onlinePumaBatch (Eq. 4)', () => {
  it('bisects the largest m in [−ε, ε] still classified correctly; none → −ε', () => {
    const r = run(null);
    // Bisection keeps the correct end: m ≤ true margin, within 2ε / 2^steps.
    const tol = (2 * eps) / 2 ** 14 + 1e-6;
    samples.forEach((s, i) => {
      const expected = Math.min(eps, Math.max(-eps, trueMargin(s)));
      expect(r.margins[i]!, `sample ${i}`).toBeLessThanOrEqual(expected + 1e-6);
      expect(r.margins[i]!, `sample ${i}`).toBeGreaterThanOrEqual(expected - tol);
    });
    expect(r.margins[0]).toBeCloseTo(eps, 6);
    expect(r.margins[3]).toBeCloseTo(-eps, 6);
    // Without m_P nothing is pruned.
    expect(r.pruned).toBe(0);
    expect(Array.from(r.weights)).toEqual(samples.map(() => 1));
  });

  it('ε_i from Eq. 2 with its own ε (clip(m, −ε₂, ε₂)), negative = anti-adversarial', () => {
    const r = run(null, samples, 0.1);
    samples.forEach((s, i) => {
      const expected = Math.min(0.1, Math.max(-0.1, trueMargin(s)));
      expect(r.radii[i]!, `sample ${i}`).toBeCloseTo(expected, 3);
    });
    expect(r.radii[2]!).toBeLessThan(0);
    expect(r.radii[5]!).toBeCloseTo(-0.1, 3);
  });

  it('prunes exactly the samples still correct at m_P', () => {
    const mP = 0.1;
    const r = run(mP);
    const expected = samples.map((s) => (trueMargin(s) > mP ? 0 : 1));
    expect(Array.from(r.weights)).toEqual(expected);
    expect(r.pruned).toBe(expected.filter((w) => w === 0).length);
    expect(r.pruned).toBe(3);
    // A lower m_P prunes more (the correct-at-m_P set only grows as m_P falls).
    const lower = run(0.0);
    expect(lower.pruned).toBe(samples.filter((s) => trueMargin(s) > 0).length);
  });

  it('never prunes a whole batch', () => {
    const easy: Array<[number, number]> = [
      [0.1, 0],
      [0.9, 1],
      [0.2, 0],
    ];
    const r = run(0.05, easy);
    expect(r.pruned).toBe(0);
    expect(Array.from(r.weights)).toEqual([1, 1, 1]);
    expect(Array.from(r.margins).every((m) => Math.abs(m - eps) < 1e-6)).toBe(true);
  });
});
