/**
 * Margin estimators on a small MLP trained in the test (cpu backend, ~1–2 s), and the chunked
 * driver that runs them over a dataset with resume.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { computeDeepFoolMargins, computeFastMargins, computeMarginsChunked, type MarginBatch, type MarginResult } from '../../../src-main/engine/margins';
import { clusteredImages, spearman, trainTinyMlp, useCpuBackend } from './helpers';

const SHAPE: [number, number, number] = [8, 8, 1];
const D = 64;
const CLASSES = 4;
const TRAIN = 600;
const TEST = 200;

let model: tf.LayersModel;
let testX: Float32Array;
let testY: Int32Array;
let deepfool: MarginResult;
let fast: MarginResult;
let dfPerturbed: tf.Tensor4D;
let x: tf.Tensor4D;

function predictions(points: tf.Tensor4D): Int32Array {
  return tf.tidy(() => (model.predict(points) as tf.Tensor2D).argMax(1).dataSync() as Int32Array);
}

beforeAll(async () => {
  await useCpuBackend();
  // Heavy noise so that a good share of held-out samples is misclassified (negative margins).
  const data = clusteredImages(TRAIN + TEST, CLASSES, SHAPE, 0.6, 'margins-trained');
  model = await trainTinyMlp({ x: data.x.slice(0, TRAIN * D), y: data.y.slice(0, TRAIN) }, SHAPE, CLASSES, 20);
  testX = data.x.slice(TRAIN * D);
  testY = data.y.slice(TRAIN);
  x = tf.tensor4d(testX, [TEST, ...SHAPE]);
  const before = tf.memory().numTensors;
  deepfool = computeDeepFoolMargins(model, x, testY, { returnPerturbed: true });
  dfPerturbed = deepfool.perturbed!;
  fast = computeFastMargins(model, x, testY, { stepSize: 0.005, iMax: 200, jMax: 12 });
  // Only the returned perturbed tensor survives.
  expect(tf.memory().numTensors).toBe(before + 1);
});

describe('DeepFool on a trained MLP', () => {
  it('has both signs: misclassified samples get negative margins', () => {
    const p0 = predictions(x);
    let negatives = 0;
    for (let i = 0; i < TEST; i++) {
      const correct = p0[i] === testY[i];
      expect(deepfool.margins[i]! > 0).toBe(correct);
      if (!correct) negatives++;
    }
    expect(negatives).toBeGreaterThan(20);
    expect(negatives).toBeLessThan(TEST - 20);
  });

  it('perturbed points flip the prediction and, shrunk by 5 %, do not (≥ 95 % of samples)', () => {
    const p0 = predictions(x);
    const atPoint = predictions(dfPerturbed);
    const shrunk = tf.tidy(() => tf.add(x, tf.mul(tf.sub(dfPerturbed, x), 0.95)) as tf.Tensor4D);
    const atShrunk = predictions(shrunk);
    shrunk.dispose();
    let good = 0;
    for (let i = 0; i < TEST; i++) {
      const correct = p0[i] === testY[i];
      const flipped = correct ? atPoint[i] !== testY[i] : atPoint[i] === testY[i];
      const shrunkFlipped = correct ? atShrunk[i] !== testY[i] : atShrunk[i] === testY[i];
      if (flipped && !shrunkFlipped) good++;
    }
    expect(good / TEST).toBeGreaterThanOrEqual(0.95);
  });

  it('the margin is the L∞ norm of the returned perturbation', () => {
    const p = dfPerturbed.dataSync();
    for (let i = 0; i < TEST; i++) {
      let m = 0;
      for (let q = i * D; q < (i + 1) * D; q++) m = Math.max(m, Math.abs(p[q]! - testX[q]!));
      expect(Math.abs(deepfool.margins[i]!)).toBeCloseTo(m, 6);
    }
  });
});

describe('fast margin (Algorithm 1) against DeepFool', () => {
  it('is within 20 % of DeepFool for ≥ 90 % of samples with Spearman ≥ 0.9', () => {
    let within = 0;
    for (let i = 0; i < TEST; i++) {
      if (Math.abs(fast.margins[i]! - deepfool.margins[i]!) <= 0.2 * Math.abs(deepfool.margins[i]!)) within++;
    }
    expect(within / TEST).toBeGreaterThanOrEqual(0.9);
    expect(spearman(fast.margins, deepfool.margins)).toBeGreaterThanOrEqual(0.9);
  });

  it('agrees in sign with the model and takes at most iMax BIM steps', () => {
    const p0 = predictions(x);
    for (let i = 0; i < TEST; i++) {
      expect(fast.margins[i]! > 0).toBe(p0[i] === testY[i]);
      expect(fast.iterations[i]!).toBeLessThanOrEqual(200);
    }
    expect(fast.gradEvals).toBe(fast.iterations.reduce((s, v) => s + v, 0));
  });

  it('a coarser step with more bisection gives nearly the same margins', () => {
    const coarse = computeFastMargins(model, x, testY, { stepSize: 0.02, iMax: 50, jMax: 16 });
    expect(spearman(coarse.margins, fast.margins)).toBeGreaterThan(0.95);
    expect(coarse.gradEvals).toBeLessThan(fast.gradEvals);
  });
});

describe('computeMarginsChunked', () => {
  const readBatch = (offset: number, count: number): MarginBatch => ({
    x: testX.slice(offset * D, (offset + count) * D),
    y: testY.slice(offset, offset + count),
    shape: [count, ...SHAPE],
  });

  it('computes the same margins chunk by chunk and resumes from a later chunk', async () => {
    const count = 47;
    const seen = new Map<number, Float32Array>();
    const progress: number[] = [];
    const summary = await computeMarginsChunked({
      model,
      readBatch,
      count,
      method: 'deepfool',
      params: { maxIter: 50 },
      chunkSize: 10,
      batchSize: 4,
      onChunk: (k, m) => void seen.set(k, m),
      onProgress: (p) => progress.push(p.done),
    });
    expect(summary.chunks).toBe(5);
    expect([...seen.keys()]).toEqual([0, 1, 2, 3, 4]);
    expect(seen.get(4)!.length).toBe(7);
    expect(progress).toEqual([10, 20, 30, 40, 47]);
    const all = Float32Array.from([0, 1, 2, 3, 4].flatMap((k) => Array.from(seen.get(k)!)));
    for (let i = 0; i < count; i++) expect(all[i]).toBeCloseTo(deepfool.margins[i]!, 4);

    const resumed: number[] = [];
    const again = await computeMarginsChunked({
      model,
      readBatch: async (o, c) => readBatch(o, c),
      count,
      method: 'fast',
      params: { stepSize: 0.005, iMax: 200, jMax: 12 },
      chunkSize: 10,
      startChunk: 3,
      onChunk: async (k, m) => {
        resumed.push(k);
        for (let j = 0; j < m.length; j++) expect(m[j]).toBeCloseTo(fast.margins[k * 10 + j]!, 4);
      },
    });
    expect(resumed).toEqual([3, 4]);
    expect(again.samplesComputed).toBe(17);
  });

  it('reports a readBatch of the wrong shape with the file name', async () => {
    await expect(
      computeMarginsChunked({
        model,
        readBatch: (o, c) => ({ ...readBatch(o, c), shape: [c, 64] }),
        count: 5,
        method: 'deepfool',
        chunkSize: 5,
        onChunk: () => undefined,
      }),
    ).rejects.toThrow(/chunked\.ts.*readBatch\(0, 5\) returned shape \[5, 64\]/);
    await expect(computeMarginsChunked({ model, readBatch, count: 5, method: 'deepfool', chunkSize: 0, onChunk: () => undefined })).rejects.toThrow(
      /chunked\.ts.*chunkSize/,
    );
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    const done: number[] = [];
    await expect(
      computeMarginsChunked({
        model,
        readBatch,
        count: 30,
        method: 'fast',
        params: { stepSize: 0.01, iMax: 50, jMax: 8 },
        chunkSize: 10,
        signal: controller.signal,
        onChunk: (k) => {
          done.push(k);
          controller.abort();
        },
      }),
    ).rejects.toThrow(/chunked\.ts.*aborted before chunk 1/);
    expect(done).toEqual([0]);
  });
});
