/**
 * The end of a training epoch: the EMA model takes the batch-norm statistics, is evaluated when
 * due, the epoch's figures are computed from the running totals (which restart), correctness is
 * written, a checkpoint is saved and the epoch is reported (onEpoch: the run's metrics and log).
 */
import type * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from '../../../src-shared/domain/training';
import type { WeightAverage } from './ema';
import { evaluateRobustness, evaluateRobustnessParallel, type EvalOptions, type EvalResult, type EvalSet } from './evaluate';
import { saveLoop, type LoopParts, type LoopState } from './loop-state';
import { learningRateAt } from './schedule';
import type { EngineWorkerPool } from '../workers';
import type { EpochReport, TrainerHooks } from './trainer';
import { mixSeed, SEED_STREAMS } from './seeds';

/** The learning rate of a run at a global step. */
export function runLearningRate(c: TrainConfig, step: number, totalSteps: number): number {
  return learningRateAt(step, { kind: c.schedule, lr: c.lr, totalSteps, warmupShare: c.warmup_share, milestones: c.step_milestones, gamma: c.step_gamma });
}

/**
 * Evaluates the EMA model on the test set with the run's evaluation attack; the test batches are
 * split over the training processes when there are several (same seeds, same result). Its
 * seconds are added to the run's evaluation time.
 */
export async function evaluateEma(
  c: TrainConfig,
  ema: tf.LayersModel,
  test: EvalSet,
  pool: EngineWorkerPool | null,
  state: LoopState,
  hooks: TrainerHooks,
): Promise<EvalResult> {
  const options: EvalOptions = {
    eps: c.eps,
    steps: c.eval_attack_steps,
    stepSize: c.eval_step_size,
    batchSize: c.eval_batch_size,
    seed: mixSeed(c.seed, SEED_STREAMS.evaluation, 0),
    onBatch: async (f) => {
      hooks.onEvalProgress?.(f);
      await new Promise<void>((r) => setImmediate(r));
    },
  };
  const r = pool != null ? await evaluateRobustnessParallel(pool, ema, test, options) : await evaluateRobustness(ema, test, options);
  state.acc.evalSeconds += r.seconds;
  return r;
}

export interface EpochEnd {
  config: TrainConfig;
  state: LoopState;
  /** The running totals when the epoch started. */
  epochStart: LoopState['acc'];
  parts: LoopParts;
  averager: WeightAverage;
  checkpointRoot: string;
  runDir: string;
  totalSteps: number;
  evaluate: () => Promise<EvalResult>;
  hooks: TrainerHooks;
  /** Saved checkpoint folders (this one is added). */
  checkpoints: string[];
}

/** Closes the epoch `e.state.epoch` and moves the state to the start of the next. */
export async function endEpoch(e: EpochEnd): Promise<void> {
  const { config: c, state, epochStart: start } = e;
  const { acc } = state;
  e.averager.copyBuffers();
  const isLast = state.epoch + 1 === c.epochs;
  const evalNow = isLast || (c.eval_every > 0 && (state.epoch + 1) % c.eval_every === 0);
  if (evalNow) state.lastEval = await e.evaluate();
  const seen = acc.seen - start.seen;
  const report: EpochReport = {
    epoch: state.epoch,
    globalStep: state.globalStep,
    trainLoss: seen > 0 ? (acc.lossSum - start.lossSum) / seen : NaN,
    trainAcc: seen > 0 ? (acc.correct - start.correct) / seen : NaN,
    lr: runLearningRate(c, Math.max(0, state.globalStep - 1), e.totalSteps),
    imagesPerSecond: 0,
    eval: evalNow ? state.lastEval : null,
    prunedOnline: acc.pruned - start.pruned,
    checkpoint: '',
  };
  e.parts.recorder?.endEpoch(e.runDir, state.epoch);
  state.epoch++;
  state.batchInEpoch = 0;
  // The per-epoch totals restart; seconds and samples carry on.
  acc.lossSum = 0;
  acc.correct = 0;
  acc.seen = 0;
  acc.pruned = 0;
  report.checkpoint = await saveLoop(e.checkpointRoot, e.parts, state);
  e.checkpoints.push(report.checkpoint);
  report.imagesPerSecond = acc.samples / Math.max(acc.trainSeconds, 1e-9);
  await e.hooks.onEpoch?.(report);
}
