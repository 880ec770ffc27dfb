/**
 * One training step with the batch split over this process and the pool's worker processes
 * (wasm and cpu backends run on one core each). Every process gets all weights (batch-norm
 * statistics included), attacks its shard and returns its gradients; this process combines
 * them as the full batch's loss would (each shard's weighted mean counts with its Σ of loss
 * weights), applies the SGD update and keeps the batch-norm statistics of its own shard.
 * Only the attack's random start depends on the split (each shard draws its own).
 */
import * as tf from '@tensorflow/tfjs';
import { attackShardSeed, modelWeightArrays, sendShards, shardSizes, type EngineWorkerPool } from '../workers';
import type { Sgd } from './optimizer';
import { checkFiniteLoss, methodGradients, type MethodGradients, type StepOptions, type StepResult } from './step';

/** The step's options for samples [start, end) of the batch, seeded for shard `shard`. */
function shardOptions(o: StepOptions, shard: number, start: number, end: number): StepOptions {
  return {
    ...o,
    eps: typeof o.eps === 'number' ? o.eps : o.eps.slice(start, end),
    weights: o.weights ? o.weights.slice(start, end) : null,
    seed: attackShardSeed(o.seed, shard),
  };
}

export async function dataParallelTrainStepAdversarial(
  pool: EngineWorkerPool,
  model: tf.LayersModel,
  sgd: Sgd,
  x: tf.Tensor4D,
  labels: Int32Array,
  o: StepOptions,
  lr: number,
): Promise<StepResult> {
  const batch = x.shape[0];
  const sizes = shardSizes(batch, pool.size);
  const weights = modelWeightArrays(model);
  const xData = x.dataSync() as Float32Array;
  const perImage = xData.length / batch;
  const remote = await sendShards(sizes, (worker, start, end) =>
    pool.shardTrain(worker, {
      weights,
      x: xData.slice(start * perImage, end * perImage),
      xShape: [end - start, ...x.shape.slice(1)],
      labels: labels.slice(start, end),
      options: shardOptions(o, worker + 1, start, end),
    }),
  );
  const xs = tf.slice(x, 0, sizes[0]);
  const ys = tf.tensor1d(labels.slice(0, sizes[0]), 'int32');
  let local: MethodGradients;
  try {
    local = methodGradients(model, sgd.variables, xs, ys, shardOptions(o, 0, 0, sizes[0]!));
  } finally {
    tf.dispose([xs, ys]);
  }
  let shards: Array<Awaited<(typeof remote)[number]>>;
  try {
    shards = await Promise.all(remote);
  } catch (e) {
    tf.dispose(local.grads);
    throw e;
  }
  const parts = [{ weightSum: local.weightSum, loss: local.loss }, ...shards];
  const total = Math.max(
    parts.reduce((p, q) => p + q.weightSum, 0),
    1e-12,
  );
  const share = parts.map((p) => p.weightSum / total);
  const combined = tf.tidy(() =>
    Object.fromEntries(
      sgd.variables.map((v, i) => {
        let g = tf.mul(local.grads[i]!, share[0]!);
        shards.forEach((r, s) => {
          g = tf.add(g, tf.mul(tf.tensor(r.grads[i]!, v.shape), share[s + 1]!));
        });
        return [v.name, tf.keep(g)];
      }),
    ),
  );
  try {
    sgd.apply(combined, lr);
  } finally {
    tf.dispose([...local.grads, ...Object.values(combined)]);
  }
  const loss = parts.reduce((p, q, s) => p + q.loss * share[s]!, 0);
  checkFiniteLoss(loss, lr);
  const correct = new Uint8Array(batch);
  correct.set(local.correct, 0);
  let at = sizes[0]!;
  shards.forEach((r, s) => {
    correct.set(r.correct, at);
    at += sizes[s + 1]!;
  });
  return { loss, correct };
}
