import { describe, it, expect, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useBackend, relativeError } from './helpers';
import { createModel } from '../../../src-main/engine/models';
import { trainStep, pgdLinf } from '../../../src-main/engine/train-step';
import { EngineWorkerPool, dataParallelTrainStep, dataParallelPgdLinf } from '../../../src-main/engine/workers';

let pool: EngineWorkerPool | undefined;
afterAll(async () => {
  await pool?.close();
});

describe('data-parallel training across worker processes', () => {
  it('one step with a worker process updates the weights like a single-process step', async () => {
    await useBackend('wasm');
    const opts = { inputShape: [12, 12, 3] as [number, number, number], numClasses: 10, seed: 11 };
    pool = await EngineWorkerPool.start({ workers: 1, backend: 'wasm' });
    expect(pool.backend).toBe('wasm');
    await pool.createModel('cnn-small', opts);
    const single = createModel('cnn-small', opts);
    const parallel = createModel('cnn-small', opts);
    parallel.setWeights(single.getWeights());
    const x = tf.randomUniform([7, 12, 12, 3], 0, 1, 'float32', 2) as tf.Tensor4D; // odd batch: unequal shards
    const y = tf.tensor1d([0, 1, 2, 3, 4, 5, 6], 'int32');
    const lossSingle = trainStep(single, tf.train.sgd(0.5), x, y);
    const lossParallel = await dataParallelTrainStep(pool, parallel, tf.train.sgd(0.5), x, y);
    expect(lossParallel).toBeCloseTo(lossSingle, 4);
    const before = createModel('cnn-small', opts).getWeights();
    single.getWeights().forEach((w, i) => {
      const a = parallel.getWeights()[i].dataSync();
      const moved = relativeError(w.dataSync(), before[i].dataSync());
      expect(moved).toBeGreaterThan(1e-4); // the step did something
      expect(relativeError(a, w.dataSync())).toBeLessThan(1e-4);
    });
  });

  it('PGD split over the main process and a worker equals single-process PGD', async () => {
    if (pool == null) throw new Error('pool not started');
    const opts = { inputShape: [12, 12, 3] as [number, number, number], numClasses: 10, seed: 11 };
    await pool.createModel('cnn-small', opts);
    const model = createModel('cnn-small', opts);
    const x = tf.randomUniform([5, 12, 12, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const y = tf.tensor1d([9, 1, 4, 3, 0], 'int32');
    const eps = 8 / 255;
    const single = pgdLinf(model, x, y, eps, 2 / 255, 3);
    const split = await dataParallelPgdLinf(pool, model, x, y, eps, 2 / 255, 3);
    expect(split.shape).toEqual(x.shape);
    const moved = tf.max(tf.abs(tf.sub(split, x))).dataSync()[0];
    expect(moved).toBeGreaterThan(eps / 2); // the attack moved the inputs
    expect(moved).toBeLessThanOrEqual(eps + 1e-6);
    // Signed steps: a gradient entry near 0 may flip sign across backends' summation order; allow a few.
    const differing = tf.sum(tf.cast(tf.greater(tf.abs(tf.sub(split, single)), 1e-5), 'float32')).dataSync()[0];
    expect(differing / x.size).toBeLessThan(0.01);
    tf.dispose([x, y, single, split]);
    model.dispose();
  });

  it('PGD split over processes uses the batch-norm statistics of the main model', async () => {
    if (pool == null) throw new Error('pool not started');
    const opts = { inputShape: [8, 8, 3] as [number, number, number], numClasses: 4, width: 4, seed: 5 };
    await pool.createModel('resnet18', opts);
    const model = createModel('resnet18', opts);
    // moved weights and statistics (variances kept positive), so a worker keeping its own would differ
    model.setWeights(model.getWeights().map((w, i) => tf.tidy(() => tf.abs(tf.add(w, tf.randomNormal(w.shape, 0, 0.3, 'float32', i + 1))))));
    const x = tf.randomUniform([6, 8, 8, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    const y = tf.tensor1d([0, 1, 2, 3, 0, 1], 'int32');
    const single = pgdLinf(model, x, y, 0.1, 0.03, 3);
    const split = await dataParallelPgdLinf(pool, model, x, y, 0.1, 0.03, 3);
    const differing = tf.sum(tf.cast(tf.greater(tf.abs(tf.sub(split, single)), 1e-5), 'float32')).dataSync()[0];
    expect(differing / x.size).toBeLessThan(0.01);
    tf.dispose([x, y, single, split]);
    model.dispose();
  });

  it('worker errors come back as clear errors', async () => {
    if (pool == null) throw new Error('pool not started');
    await expect(pool.shardGradients(0, [], new Float32Array(12 * 12 * 3), [1, 12, 12, 3], new Int32Array([0])).response).rejects.toThrow(/engine worker 0: worker-main\.ts: got 0 weight arrays/);
  });

  it('rejects a bad worker count', async () => {
    await expect(EngineWorkerPool.start({ workers: 0 })).rejects.toThrow(/workers\.ts: workers must be a positive integer/);
  });
});
