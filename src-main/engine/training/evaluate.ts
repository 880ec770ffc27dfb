/**
 * Clean accuracy and robust accuracy under PGD-k with the cross-entropy and the C&W margin loss
 * (random start, step ε/4 by default), on a fixed set of test samples.
 */
import * as tf from '@tensorflow/tfjs';
import { pgdAttack } from '../attacks';
import { modelWeightArrays, sendShards, shardSizes, type EngineWorkerPool } from '../workers';

export interface EvalSet {
  /** n·h·w·c floats in [0, 1]. */
  images: Float32Array;
  labels: Int32Array;
  shape: [number, number, number, number];
}

export interface EvalOptions {
  eps: number;
  steps: number;
  /** null = eps/4. */
  stepSize: number | null;
  batchSize: number;
  seed: number;
  /** Skip the attacks (e.g. standard training with eps = 0). */
  cleanOnly?: boolean;
  /** Called after each batch with the fraction done. */
  onBatch?: (fraction: number) => void | Promise<void>;
  /** Index of the set's first batch in a larger set (attack seeds follow the global batch index). */
  firstBatch?: number;
}

/** Correct predictions out of `count`: clean, under PGD-CE and under PGD-C&W. */
export interface EvalCounts {
  clean: number;
  pgd: number;
  cw: number;
  count: number;
}

export interface EvalResult {
  clean_acc: number;
  robust_acc_pgd: number;
  robust_acc_cw: number;
  count: number;
  seconds: number;
}

function correctCount(model: tf.LayersModel, x: tf.Tensor4D, y: Int32Array): number {
  const predicted = tf.tidy(() => tf.argMax(model.apply(x, { training: false }) as tf.Tensor2D, 1));
  const pred = predicted.dataSync();
  predicted.dispose();
  let c = 0;
  for (let i = 0; i < y.length; i++) if (pred[i] === y[i]) c++;
  return c;
}

/** Whether the options ask for the two attacks (not only clean accuracy). */
export function evalAttacks(o: Pick<EvalOptions, 'cleanOnly' | 'eps' | 'steps'>): boolean {
  return !o.cleanOnly && o.eps > 0 && o.steps > 0;
}

/** Accuracies from counts (without attacks the robust accuracies are the clean one). */
export function evalResultFromCounts(k: EvalCounts, o: Pick<EvalOptions, 'cleanOnly' | 'eps' | 'steps'>, seconds: number): EvalResult {
  const attacked = evalAttacks(o);
  const n = Math.max(k.count, 1);
  return {
    clean_acc: k.clean / n,
    robust_acc_pgd: attacked ? k.pgd / n : k.clean / n,
    robust_acc_cw: attacked ? k.cw / n : k.clean / n,
    count: k.count,
    seconds,
  };
}

export async function evaluateRobustness(model: tf.LayersModel, set: EvalSet, o: EvalOptions): Promise<EvalResult> {
  const started = performance.now();
  const counts = await evaluateCounts(model, set, o);
  return evalResultFromCounts(counts, o, (performance.now() - started) / 1000);
}

/** The correct counts of evaluateRobustness; batch b's attacks are seeded with seed + 2·(firstBatch + b) (+1 for C&W). */
export async function evaluateCounts(model: tf.LayersModel, set: EvalSet, o: EvalOptions): Promise<EvalCounts> {
  const [n, h, w, c] = set.shape;
  if (set.labels.length !== n || set.images.length !== n * h * w * c) {
    throw new Error(
      `src-main/engine/training/evaluate.ts: evaluation set has ${set.labels.length} labels and ${set.images.length} values for shape [${set.shape.join(', ')}]`,
    );
  }
  const d = h * w * c;
  let clean = 0;
  let pgd = 0;
  let cw = 0;
  const stepSize = o.stepSize ?? o.eps / 4;
  const first = o.firstBatch ?? 0;
  for (let s = 0, b = first; s < n; s += o.batchSize, b++) {
    const m = Math.min(o.batchSize, n - s);
    const y = set.labels.subarray(s, s + m);
    const x = tf.tensor4d(set.images.subarray(s * d, (s + m) * d), [m, h, w, c]);
    const labels = tf.tensor1d(y, 'int32');
    try {
      clean += correctCount(model, x, y);
      if (evalAttacks(o)) {
        for (const loss of ['ce', 'cw'] as const) {
          const adv = pgdAttack(model, x, labels, { eps: o.eps, steps: o.steps, stepSize, loss, seed: o.seed + b * 2 + (loss === 'cw' ? 1 : 0) });
          const k = correctCount(model, adv, y);
          adv.dispose();
          if (loss === 'ce') pgd += k;
          else cw += k;
        }
      }
    } finally {
      x.dispose();
      labels.dispose();
    }
    await o.onBatch?.((s + m) / n);
  }
  return { clean, pgd, cw, count: n };
}

/**
 * evaluateRobustness with the batches split over this process and the pool's workers (each gets
 * all weights). Batch b keeps its attack seeds, so the result equals the single-process one.
 */
export async function evaluateRobustnessParallel(pool: EngineWorkerPool, model: tf.LayersModel, set: EvalSet, o: EvalOptions): Promise<EvalResult> {
  const started = performance.now();
  const [n, h, w, c] = set.shape;
  const d = h * w * c;
  const batches = Math.ceil(n / o.batchSize);
  if (batches < 2) return evaluateRobustness(model, set, o);
  const perShard = shardSizes(batches, pool.size);
  const { onBatch, ...plain } = o;
  const weights = modelWeightArrays(model);
  // shards are ranges of whole batches: batch b of the set is batch b wherever it runs
  const remote = await sendShards(perShard, (worker, first, last) => {
    const [start, end] = [Math.min(first * o.batchSize, n), Math.min(last * o.batchSize, n)];
    return pool.shardEvaluate(worker, {
      weights,
      images: set.images.slice(start * d, end * d),
      labels: set.labels.slice(start, end),
      shape: [end - start, h, w, c],
      options: { ...plain, firstBatch: (o.firstBatch ?? 0) + first },
    });
  });
  const mine = Math.min(perShard[0]! * o.batchSize, n);
  const share = mine / n;
  const local = await evaluateCounts(
    model,
    { images: set.images.subarray(0, mine * d), labels: set.labels.subarray(0, mine), shape: [mine, h, w, c] },
    {
      ...plain,
      // progress of this process's part stands for the whole (the workers run alongside)
      onBatch: onBatch && ((f) => onBatch(f * share)),
    },
  );
  const counts = (await Promise.all(remote)).reduce(
    (k, r) => ({ clean: k.clean + r.counts.clean, pgd: k.pgd + r.counts.pgd, cw: k.cw + r.counts.cw, count: k.count + r.counts.count }),
    local,
  );
  await onBatch?.(1);
  return evalResultFromCounts(counts, o, (performance.now() - started) / 1000);
}
