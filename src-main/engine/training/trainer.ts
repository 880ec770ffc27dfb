/**
 * The training loop: per-batch schedule, adversarial step (standard / PGD-AT / TRADES, per-sample
 * ε_i), EMA, evaluation of the EMA model, a checkpoint every epoch (and at a cancel), and an exact
 * resume from the latest checkpoint. Everything random is derived from (seed, epoch, step), so a
 * resumed run repeats exactly what the uninterrupted run would have done on the same backend.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from '../../../src-shared/domain/training';
import { createModel } from '../models';
import { emaDecay, WeightAverage } from './ema';
import { evaluateRobustness, evaluateRobustnessParallel, type EvalOptions, type EvalResult, type EvalSet } from './evaluate';
import { onlinePumaBatch } from './online';
import { Sgd } from './optimizer';
import { learningRateAt } from './schedule';
import { checkpointName, readLatestCheckpoint, saveModel, writeCheckpoint, loadWeightsInto } from './checkpoint';
import { trainStepAdversarial } from './step';
import { EngineWorkerPool } from '../workers';
import { canForkWorkers } from '../../processes';
import { dataParallelTrainStepAdversarial } from './parallel-step';

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
  onBatch?: (p: { epoch: number; batch: number; batches: number; globalStep: number; totalSteps: number; loss: number; lr: number; imagesPerSecond: number }) => void;
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

/** A 31-bit seed for (run seed, stream, step); distinct streams never share seeds. */
export function mixSeed(seed: number, stream: number, step: number): number {
  let h = (seed * 0x9e3779b1) ^ (stream * 0x85ebca6b) ^ (step * 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return ((h ^ (h >>> 16)) >>> 1) % 2147483647;
}

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

interface Accum {
  lossSum: number;
  correct: number;
  seen: number;
  pruned: number;
  trainSeconds: number;
  evalSeconds: number;
  samples: number;
}

export async function trainModel(opts: TrainerOptions): Promise<TrainerResult> {
  const { config: c, data, runDir } = opts;
  const hooks = opts.hooks ?? {};
  const ckptRoot = path.join(runDir, 'checkpoints');
  const live = buildModel(c, data, c.seed);
  const ema = buildModel(c, data, c.seed);
  const variables = live.trainableWeights.map((w) => w.read() as tf.Variable);
  const sgd = new Sgd(variables, { momentum: c.momentum, nesterov: c.nesterov, weightDecay: c.weight_decay });
  const batches = data.pool.batchesPerEpoch;
  const totalSteps = c.epochs * batches;
  const warmupSteps = Math.floor(c.warmup_share * totalSteps);
  const averager = new WeightAverage(live, ema, c.ema_tau, warmupSteps);
  averager.reset();
  const eq2Eps = c.eq2_eps ?? c.eps;
  const recordCorrectness = c.record_correctness;
  // Totals over finished epochs, and the current epoch's counts (both restored on resume).
  let cdSeen: Float32Array | null = recordCorrectness ? new Float32Array(data.poolSize) : null;
  let cdWrong: Float32Array | null = recordCorrectness ? new Float32Array(data.poolSize) : null;
  let epochSeen: Float32Array | null = recordCorrectness ? new Float32Array(data.poolSize) : null;
  let epochWrong: Float32Array | null = recordCorrectness ? new Float32Array(data.poolSize) : null;

  let epoch = 0;
  let batchInEpoch = 0;
  let globalStep = 0;
  let acc: Accum = { lossSum: 0, correct: 0, seen: 0, pruned: 0, trainSeconds: 0, evalSeconds: 0, samples: 0 };
  let lastEval: EvalResult | null = null;
  let resumedFrom: string | null = null;
  const checkpoints: string[] = [];

  const latest = readLatestCheckpoint(ckptRoot);
  if (latest) {
    if (latest.state.seed !== c.seed) throw new Error(`src-main/engine/training/trainer.ts: checkpoint ${latest.dir} is for seed ${latest.state.seed}, the run has seed ${c.seed}`);
    await loadWeightsInto(live, path.join(latest.dir, 'live'));
    await loadWeightsInto(ema, path.join(latest.dir, 'ema'));
    sgd.setState(latest.arrays);
    ({ epoch, batchInEpoch, globalStep } = latest.state);
    acc = latest.state.extra.accum as Accum;
    lastEval = (latest.state.extra.lastEval as EvalResult | null) ?? null;
    if (recordCorrectness) {
      cdSeen = latest.arrays['cd/seen'] ?? cdSeen;
      cdWrong = latest.arrays['cd/wrong'] ?? cdWrong;
      epochSeen = latest.arrays['cd/epoch_seen'] ?? epochSeen;
      epochWrong = latest.arrays['cd/epoch_wrong'] ?? epochWrong;
    }
    resumedFrom = latest.dir;
  }

  const save = async (): Promise<string> => {
    const arrays: Record<string, Float32Array> = { ...sgd.getState() };
    if (cdSeen && cdWrong && epochSeen && epochWrong) {
      Object.assign(arrays, { 'cd/seen': cdSeen, 'cd/wrong': cdWrong, 'cd/epoch_seen': epochSeen, 'cd/epoch_wrong': epochWrong });
    }
    const dir = await writeCheckpoint(
      ckptRoot,
      checkpointName(globalStep),
      { live, ema },
      { epoch, batchInEpoch, globalStep, seed: c.seed, extra: { accum: acc, lastEval } },
      arrays,
    );
    checkpoints.push(dir);
    return dir;
  };

  const processes = trainingProcesses(c);
  let pool: EngineWorkerPool | null = null;
  const evaluate = async (): Promise<EvalResult> => {
    const options: EvalOptions = {
      eps: c.eps,
      steps: c.eval_attack_steps,
      stepSize: c.eval_step_size,
      batchSize: c.eval_batch_size,
      seed: mixSeed(c.seed, 2, 0),
      onBatch: async (f) => {
        hooks.onEvalProgress?.(f);
        await new Promise<void>((r) => setImmediate(r));
      },
    };
    // the test batches are split over the training processes too (same seeds, same result)
    const r = pool != null ? await evaluateRobustnessParallel(pool, ema, data.test, options) : await evaluateRobustness(ema, data.test, options);
    acc.evalSeconds += r.seconds;
    return r;
  };

  try {
    if (processes > 1) {
      pool = await EngineWorkerPool.start({ workers: processes - 1, backend: tf.getBackend() });
      await pool.createModel(c.arch, {
        inputShape: data.inputShape,
        numClasses: data.numClasses,
        normalization: data.normalization,
        width: c.width ?? undefined,
        depth: c.depth ?? undefined,
        seed: c.seed,
      });
    }
    while (epoch < c.epochs) {
      const epochStart = { ...acc };
      let b = 0;
      for (const batch of data.pool.epoch(epoch)) {
        if (b < batchInEpoch) {
          b++;
          continue; // already trained before the checkpoint
        }
        if (hooks.crashAtStep !== undefined && globalStep === hooks.crashAtStep) throw new SimulatedCrash(`simulated crash at step ${globalStep}`);
        if (hooks.shouldStop?.()) {
          batchInEpoch = b;
          throw new TrainingStopped(await save(), { epoch, batchInEpoch, globalStep });
        }
        const t0 = performance.now();
        const lr = learningRateAt(globalStep, { kind: c.schedule, lr: c.lr, totalSteps, warmupShare: c.warmup_share, milestones: c.step_milestones, gamma: c.step_gamma });
        const n = batch.labels.length;
        const x = tf.tensor4d(batch.images, batch.shape);
        const labels = tf.tensor1d(batch.labels, 'int32');
        try {
          let eps: number | Float32Array = batch.radii ?? c.eps;
          let weights: Float32Array | null = null;
          if (c.strategy === 'online_puma') {
            const online = onlinePumaBatch(live, x, labels, {
              eps: c.eps,
              eq2Eps,
              pruneMargin: epoch >= c.online_warmup_epochs ? c.online_prune_margin : null,
              attackSteps: c.attack_steps,
              attackStepSize: c.attack_step_size,
              searchSteps: c.online_search_steps,
              seed: mixSeed(c.seed, 3, globalStep),
            });
            eps = online.radii;
            weights = online.weights;
            acc.pruned += online.pruned;
          }
          const stepOptions = {
            method: c.method,
            eps,
            attackSteps: c.attack_steps,
            attackStepSize: c.attack_step_size,
            beta: c.beta,
            labelSmoothing: c.label_smoothing,
            seed: mixSeed(c.seed, 1, globalStep),
            weights,
          };
          const r = pool != null
            ? await dataParallelTrainStepAdversarial(pool, live, sgd, x, batch.labels, stepOptions, lr)
            : trainStepAdversarial(live, sgd, x, labels, stepOptions, lr);
          averager.update(globalStep);
          acc.lossSum += r.loss * n;
          acc.seen += n;
          for (let i = 0; i < n; i++) {
            acc.correct += r.correct[i]!;
            if (epochSeen && epochWrong) {
              epochSeen[batch.indices[i]!]! += 1;
              if (!r.correct[i]) epochWrong[batch.indices[i]!]! += 1;
            }
          }
          acc.samples += n;
          acc.trainSeconds += (performance.now() - t0) / 1000;
          globalStep++;
          b++;
          hooks.onBatch?.({ epoch, batch: b, batches, globalStep, totalSteps, loss: r.loss, lr, imagesPerSecond: acc.samples / Math.max(acc.trainSeconds, 1e-9) });
        } finally {
          x.dispose();
          labels.dispose();
        }
        if (hooks.yieldEvery && b % hooks.yieldEvery === 0) await new Promise<void>((r) => setImmediate(r));
      }
      // End of epoch: BN statistics to the EMA model, evaluation, checkpoint.
      averager.copyBuffers();
      const isLast = epoch + 1 === c.epochs;
      const evalNow = isLast || (c.eval_every > 0 && (epoch + 1) % c.eval_every === 0);
      if (evalNow) lastEval = await evaluate();
      const seen = acc.seen - epochStart.seen;
      const trainLoss = seen > 0 ? (acc.lossSum - epochStart.lossSum) / seen : NaN;
      const trainAcc = seen > 0 ? (acc.correct - epochStart.correct) / seen : NaN;
      const prunedOnline = acc.pruned - epochStart.pruned;
      const lr = learningRateAt(Math.max(0, globalStep - 1), { kind: c.schedule, lr: c.lr, totalSteps, warmupShare: c.warmup_share, milestones: c.step_milestones, gamma: c.step_gamma });
      if (cdSeen && cdWrong && epochSeen && epochWrong) {
        writeCorrectness(runDir, epoch, epochSeen, epochWrong);
        // CD counts epochs: a sample is wrong in an epoch when any of its draws was misclassified.
        for (let i = 0; i < epochSeen.length; i++) {
          if (epochSeen[i]! > 0) (cdSeen[i]! += 1), (cdWrong[i]! += epochWrong[i]! > 0 ? 1 : 0);
        }
        epochSeen.fill(0);
        epochWrong.fill(0);
      }
      epoch++;
      batchInEpoch = 0;
      // The per-epoch accumulators restart; totals (seconds, samples) carry on.
      acc.lossSum = 0;
      acc.correct = 0;
      acc.seen = 0;
      acc.pruned = 0;
      const dir = await save();
      await hooks.onEpoch?.({
        epoch: epoch - 1,
        globalStep,
        trainLoss,
        trainAcc,
        lr,
        imagesPerSecond: acc.samples / Math.max(acc.trainSeconds, 1e-9),
        eval: evalNow ? lastEval : null,
        prunedOnline,
        checkpoint: dir,
      });
    }
    if (!lastEval) lastEval = await evaluate();
    const finalModelDir = path.join(runDir, 'final');
    await saveModel(ema, finalModelDir);
    let cd: Float32Array | null = null;
    if (cdSeen && cdWrong) {
      cd = new Float32Array(data.poolSize);
      for (let i = 0; i < cd.length; i++) cd[i] = cdSeen[i]! > 0 ? cdWrong[i]! / cdSeen[i]! : 0;
    }
    sgd.dispose();
    return {
      eval: lastEval,
      epochsDone: epoch,
      globalStep,
      imagesPerSecond: acc.samples / Math.max(acc.trainSeconds, 1e-9),
      trainSeconds: acc.trainSeconds,
      evalSeconds: acc.evalSeconds,
      resumedFrom,
      finalModelDir,
      checkpoints,
      live,
      ema,
      classificationDifficulty: cd,
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

/** Per-sample correctness of one epoch: 0 unseen, 1 correct every time, 2 wrong at least once. */
function writeCorrectness(runDir: string, epoch: number, seen: Float32Array, wrong: Float32Array): void {
  const dir = path.join(runDir, 'correctness');
  fs.mkdirSync(dir, { recursive: true });
  const out = new Uint8Array(seen.length);
  for (let i = 0; i < seen.length; i++) out[i] = seen[i] === 0 ? 0 : wrong[i]! > 0 ? 2 : 1;
  fs.writeFileSync(path.join(dir, `epoch-${String(epoch).padStart(4, '0')}.u8`), out);
}
