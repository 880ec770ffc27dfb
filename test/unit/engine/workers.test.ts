import { describe, it, expect, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useBackend, relativeError } from './helpers';
import { createModel } from '../../../src-main/engine/models';
import { methodGradients, type StepOptions } from '../../../src-main/engine/training/step';
import { EngineWorkerPool, modelWeightArrays } from '../../../src-main/engine/workers';

let pool: EngineWorkerPool | undefined;
afterAll(async () => {
  await pool?.close();
});

describe('engine worker processes', () => {
  it("a worker computes the training step of its shard with all of the main model's weights, batch-norm statistics included", async () => {
    await useBackend('wasm');
    const opts = { inputShape: [8, 8, 3] as [number, number, number], numClasses: 4, width: 4, seed: 5 };
    pool = await EngineWorkerPool.start({ workers: 1, backend: 'wasm' });
    expect(pool.backend).toBe('wasm');
    await pool.createModel('resnet18', opts);
    const model = createModel('resnet18', opts);
    // moved weights and statistics (variances kept positive), so a worker keeping its own would differ
    model.setWeights(model.getWeights().map((w, i) => tf.tidy(() => tf.abs(tf.add(w, tf.randomNormal(w.shape, 0, 0.3, 'float32', i + 1))))));
    const x = tf.randomUniform([6, 8, 8, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    const labels = Int32Array.from([0, 1, 2, 3, 0, 1]);
    const y = tf.tensor1d(labels, 'int32');
    // the attack runs in inference mode: it reads the batch-norm statistics
    const options: StepOptions = { method: 'pgd_at', eps: 0.1, attackSteps: 3, attackStepSize: 0.03, beta: 0, labelSmoothing: 0, seed: 9 };
    // the weights are read before the local step: its training-mode forward moves the statistics
    const sent = pool.shardTrain(0, { weights: modelWeightArrays(model), x: x.dataSync() as Float32Array, xShape: [...x.shape], labels, options });
    await sent.sent;
    const here = methodGradients(
      model,
      model.trainableWeights.map((w) => w.read() as tf.Variable),
      x,
      y,
      options,
    );
    const there = await sent.response;
    expect(there.loss).toBeCloseTo(here.loss, 3);
    expect(Array.from(there.correct)).toEqual(Array.from(here.correct));
    here.grads.forEach((g, i) => expect(relativeError(there.grads[i]!, g.dataSync())).toBeLessThan(1e-3));
    tf.dispose([x, y, ...here.grads]);
    model.dispose();
  });

  it('worker errors come back as clear errors', async () => {
    if (pool == null) throw new Error('pool not started');
    const options: StepOptions = { method: 'standard', eps: 0, attackSteps: 0, attackStepSize: null, beta: 0, labelSmoothing: 0, seed: 1 };
    await expect(
      pool.shardTrain(0, { weights: [], x: new Float32Array(8 * 8 * 3), xShape: [1, 8, 8, 3], labels: new Int32Array([0]), options }).response,
    ).rejects.toThrow(/engine worker 0: worker-main\.ts: got 0 weight arrays/);
  });

  it('rejects a bad worker count', async () => {
    await expect(EngineWorkerPool.start({ workers: 0 })).rejects.toThrow(/workers\.ts: workers must be a positive integer/);
  });
});
