/**
 * The training loop: per-batch schedule, adversarial step (standard / PGD-AT / TRADES, per-sample
 * ε_i), EMA, evaluation of the EMA model, a checkpoint every epoch (and at a cancel), and an exact
 * resume from the latest checkpoint (loop-state.ts; the epoch's end: epoch-end.ts; correctness:
 * correctness.ts). Everything random is derived from (seed, epoch, step), so a
 * resumed run repeats exactly what the uninterrupted run would have done on the same backend.
 */
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from '../../../src-shared/domain/training';
import { createModel } from '../models';
import { emaDecay, WeightAverage } from './ema';
import type { EvalResult, EvalSet } from './evaluate';
import { onlinePumaBatch } from './online';
import { sgdFor } from './optimizer';
import { saveModel } from './checkpoint';
import { stepOptionsFor, trainStepAdversarial } from './step';
import { EngineWorkerPool } from '../workers';
import { canForkWorkers } from '../../processes';
import { dataParallelTrainStepAdversarial } from './parallel-step';
import { CorrectnessRecorder } from './correctness';
import { freshLoopState, restoreLoop, saveLoop, type LoopParts, type LoopState } from './loop-state';
import { endEpoch, evaluateEma, runLearningRate } from './epoch-end';
import { mixSeed, SEED_STREAMS } from './seeds';

export { emaDecay };

/** What the loop needs of the training data (TrainingPool satisfies it). */
export interface TrainBatch {
  images: Float32Array;
  shape: [number, number, number, number];
  labels: Int32Array;
  indices: Int32Array;
  radii?: Float32Array;
}
export interface BatchSource {
  readonly batchesPerEpoch: number;
  epoch(epoch: number): Iterable<TrainBatch>;
}

export interface TrainerData {
  pool: BatchSource;
  poolSize: number;
  test: EvalSet;
  inputShape: [number, number, number];
  numClasses: number;
  normalization?: { mean: number[]; std: number[] };
}

export interface EpochReport {
  epoch: number;
  globalStep: number;
  trainLoss: number;
  trainAcc: number;
  lr: number;
  imagesPerSecond: number;
  eval: EvalResult | null;
  prunedOnline: number;
  checkpoint: string;
}

export interface TrainerHooks {
  onBatch?: (p: {
    epoch: number;
    batch: number;
    batches: number;
    globalStep: number;
    totalSteps: number;
    loss: number;
    lr: number;
    imagesPerSecond: number;
  }) => void;
  onEpoch?: (r: EpochReport) => void | Promise<void>;
  onEvalProgress?: (fraction: number) => void;
  /** Checked before every batch; true → checkpoint at the current position and throw TrainingStopped. */
  shouldStop?: () => boolean;
  /** Lets the job process read messages (cancel) between batches. */
  yieldEvery?: number;
  /** Test hook: throws (no checkpoint, like a kill) right before this global step. */
  crashAtStep?: number;
}

export interface TrainerOptions {
  config: TrainConfig;
  data: TrainerData;
  /** Folder of this run: checkpoints/, final/ and correctness/ live here. */
  runDir: string;
  hooks?: TrainerHooks;
}

export interface TrainerResult {
  eval: EvalResult | null;
  epochsDone: number;
  globalStep: number;
  imagesPerSecond: number;
  trainSeconds: number;
  evalSeconds: number;
  resumedFrom: string | null;
  finalModelDir: string;
  checkpoints: string[];
  live: tf.LayersModel;
  ema: tf.LayersModel;
  /** Processes that shared each training step (1: this one alone). */
  trainingProcesses: number;
  /** CD per pool sample when record_correctness is on. */
  classificationDifficulty: Float32Array | null;
}

export class TrainingStopped extends Error {
  constructor(
    readonly checkpoint: string,
    readonly state: { epoch: number; batchInEpoch: number; globalStep: number },
  ) {
    super('training stopped at a checkpoint');
  }
}

export class SimulatedCrash extends Error {}

export { mixSeed };

/**
 * Processes sharing each training step (data parallel): the config's `workers` (0 = one per CPU
 * core) on the single-threaded wasm and cpu backends; 1 on native TensorFlow, which has its own threads.
 */
export function trainingProcesses(config: Pick<TrainConfig, 'workers'>, backend = tf.getBackend()): number {
  if (backend !== 'wasm' && backend !== 'cpu') return 1;
  if (!canForkWorkers()) return 1;
  return config.workers === 0 ? Math.max(1, os.cpus().length) : config.workers;
}

export function buildModel(config: TrainConfig, data: Pick<TrainerData, 'inputShape' | 'numClasses' | 'normalization'>, seed: number): tf.LayersModel {
  return createModel(config.arch, {
    inputShape: data.inputShape,
    numClasses: data.numClasses,
    normalization: data.normalization,
    width: config.width ?? undefined,
    depth: config.depth ?? undefined,
    seed,
  });
}

/** Starts the worker processes of a data-parallel run with the run's model (null when it trains in one process). */
async function startWorkers(c: TrainConfig, data: TrainerData): Promise<EngineWorkerPool | null> {
  const processes = trainingProcesses(c);
  if (processes <= 1) return null;
  const pool = await EngineWorkerPool.start({ workers: processes - 1, backend: tf.getBackend() });
  await pool.createModel(c.arch, {
    inputShape: data.inputShape,
    numClasses: data.numClasses,
    normalization: data.normalization,
    width: c.width ?? undefined,
    depth: c.depth ?? undefined,
    seed: c.seed,
  });
  return pool;
}

/** One batch: online PUMA's radii and weights when the strategy asks, the method's step, the running totals. Returns the loss. */
async function trainBatch(c: TrainConfig, batch: TrainBatch, state: LoopState, parts: LoopParts, pool: EngineWorkerPool | null, lr: number): Promise<number> {
  const { acc } = state;
  const n = batch.labels.length;
  const x = tf.tensor4d(batch.images, batch.shape);
  const labels = tf.tensor1d(batch.labels, 'int32');
  try {
    let eps: number | Float32Array = batch.radii ?? c.eps;
    let weights: Float32Array | null = null;
    if (c.strategy === 'online_puma') {
      const online = onlinePumaBatch(parts.live, x, labels, {
        eps: c.eps,
        eq2Eps: c.eq2_eps ?? c.eps,
        pruneMargin: state.epoch >= c.online_warmup_epochs ? c.online_prune_margin : null,
        attackSteps: c.attack_steps,
        attackStepSize: c.attack_step_size,
        searchSteps: c.online_search_steps,
        seed: mixSeed(c.seed, SEED_STREAMS.online, state.globalStep),
      });
      eps = online.radii;
      weights = online.weights;
      acc.pruned += online.pruned;
    }
    const stepOptions = stepOptionsFor(c, { eps, seed: mixSeed(c.seed, SEED_STREAMS.attack, state.globalStep), weights });
    const r =
      pool != null
        ? await dataParallelTrainStepAdversarial(pool, parts.live, parts.sgd, x, batch.labels, stepOptions, lr)
        : trainStepAdversarial(parts.live, parts.sgd, x, labels, stepOptions, lr);
    acc.lossSum += r.loss * n;
    acc.seen += n;
    for (let i = 0; i < n; i++) acc.correct += r.correct[i]!;
    parts.recorder?.record(batch.indices, r.correct);
    acc.samples += n;
    return r.loss;
  } finally {
    x.dispose();
    labels.dispose();
  }
}

export async function trainModel(opts: TrainerOptions): Promise<TrainerResult> {
  const { config: c, data, runDir } = opts;
  const hooks = opts.hooks ?? {};
  const checkpointRoot = path.join(runDir, 'checkpoints');
  const live = buildModel(c, data, c.seed);
  const ema = buildModel(c, data, c.seed);
  const sgd = sgdFor(
    c,
    live.trainableWeights.map((w) => w.read() as tf.Variable),
  );
  const batches = data.pool.batchesPerEpoch;
  const totalSteps = c.epochs * batches;
  const averager = new WeightAverage(live, ema, c.ema_tau, Math.floor(c.warmup_share * totalSteps));
  averager.reset();
  const parts: LoopParts = { live, ema, sgd, recorder: c.record_correctness ? new CorrectnessRecorder(data.poolSize) : null, seed: c.seed };
  const checkpoints: string[] = [];
  let pool: EngineWorkerPool | null = null;
  try {
    const restored = await restoreLoop(checkpointRoot, parts);
    const state = restored?.state ?? freshLoopState();
    const evaluate = () => evaluateEma(c, ema, data.test, pool, state, hooks);
    pool = await startWorkers(c, data);
    while (state.epoch < c.epochs) {
      const epochStart = { ...state.acc };
      let b = 0;
      for (const batch of data.pool.epoch(state.epoch)) {
        if (b < state.batchInEpoch) {
          b++;
          continue; // already trained before the checkpoint
        }
        if (hooks.crashAtStep !== undefined && state.globalStep === hooks.crashAtStep) throw new SimulatedCrash(`simulated crash at step ${state.globalStep}`);
        if (hooks.shouldStop?.()) {
          state.batchInEpoch = b;
          const dir = await saveLoop(checkpointRoot, parts, state);
          checkpoints.push(dir);
          throw new TrainingStopped(dir, { epoch: state.epoch, batchInEpoch: state.batchInEpoch, globalStep: state.globalStep });
        }
        const t0 = performance.now();
        const lr = runLearningRate(c, state.globalStep, totalSteps);
        const loss = await trainBatch(c, batch, state, parts, pool, lr);
        averager.update(state.globalStep);
        state.acc.trainSeconds += (performance.now() - t0) / 1000;
        state.globalStep++;
        b++;
        hooks.onBatch?.({
          epoch: state.epoch,
          batch: b,
          batches,
          globalStep: state.globalStep,
          totalSteps,
          loss,
          lr,
          imagesPerSecond: state.acc.samples / Math.max(state.acc.trainSeconds, 1e-9),
        });
        if (hooks.yieldEvery && b % hooks.yieldEvery === 0) await new Promise<void>((r) => setImmediate(r));
      }
      await endEpoch({ config: c, state, epochStart, parts, averager, checkpointRoot, runDir, totalSteps, evaluate, hooks, checkpoints });
    }
    if (!state.lastEval) state.lastEval = await evaluate();
    const finalModelDir = path.join(runDir, 'final');
    await saveModel(ema, finalModelDir);
    sgd.dispose();
    return {
      eval: state.lastEval,
      epochsDone: state.epoch,
      globalStep: state.globalStep,
      imagesPerSecond: state.acc.samples / Math.max(state.acc.trainSeconds, 1e-9),
      trainSeconds: state.acc.trainSeconds,
      evalSeconds: state.acc.evalSeconds,
      resumedFrom: restored?.dir ?? null,
      finalModelDir,
      checkpoints,
      live,
      ema,
      classificationDifficulty: parts.recorder?.difficulty() ?? null,
      trainingProcesses: pool == null ? 1 : pool.size + 1,
    };
  } catch (e) {
    sgd.dispose();
    live.dispose();
    ema.dispose();
    throw e;
  } finally {
    await pool?.close();
  }
}
