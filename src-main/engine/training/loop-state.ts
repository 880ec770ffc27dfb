/**
 * The training loop's state in a checkpoint: where it is (epoch, batch, global step), its running
 * totals and last evaluation, the models, the optimiser's buffers and the correctness counts.
 * Saved every epoch (and at a cancel); restored exactly on resume.
 */
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { checkpointName, loadWeightsInto, readLatestCheckpoint, writeCheckpoint } from './checkpoint';
import type { CorrectnessRecorder } from './correctness';
import type { EvalResult } from './evaluate';
import type { Sgd } from './optimizer';

/** Running totals: the per-epoch ones restart every epoch, seconds and samples carry on. */
export interface Accum {
  lossSum: number;
  correct: number;
  seen: number;
  pruned: number;
  trainSeconds: number;
  evalSeconds: number;
  samples: number;
}

export interface LoopState {
  epoch: number;
  batchInEpoch: number;
  globalStep: number;
  acc: Accum;
  lastEval: EvalResult | null;
}

/** What a checkpoint holds besides the loop state. */
export interface LoopParts {
  live: tf.LayersModel;
  ema: tf.LayersModel;
  sgd: Sgd;
  recorder: CorrectnessRecorder | null;
  seed: number;
}

export function freshLoopState(): LoopState {
  return {
    epoch: 0,
    batchInEpoch: 0,
    globalStep: 0,
    acc: { lossSum: 0, correct: 0, seen: 0, pruned: 0, trainSeconds: 0, evalSeconds: 0, samples: 0 },
    lastEval: null,
  };
}

/** Loads the latest checkpoint under `root` into `parts`; its state and folder, or null when there is none. */
export async function restoreLoop(root: string, parts: LoopParts): Promise<{ state: LoopState; dir: string } | null> {
  const latest = readLatestCheckpoint(root);
  if (!latest) return null;
  if (latest.state.seed !== parts.seed)
    throw new Error(`src-main/engine/training/loop-state.ts: checkpoint ${latest.dir} is for seed ${latest.state.seed}, the run has seed ${parts.seed}`);
  await loadWeightsInto(parts.live, path.join(latest.dir, 'live'));
  await loadWeightsInto(parts.ema, path.join(latest.dir, 'ema'));
  parts.sgd.setState(latest.arrays);
  parts.recorder?.restore(latest.arrays);
  const { epoch, batchInEpoch, globalStep } = latest.state;
  const state: LoopState = {
    epoch,
    batchInEpoch,
    globalStep,
    acc: latest.state.extra.accum as Accum,
    lastEval: (latest.state.extra.lastEval as EvalResult | null) ?? null,
  };
  return { state, dir: latest.dir };
}

/** Writes a checkpoint of the loop at `state` under `root`; returns its folder. */
export async function saveLoop(root: string, parts: LoopParts, state: LoopState): Promise<string> {
  const arrays: Record<string, Float32Array> = { ...parts.sgd.getState(), ...parts.recorder?.arrays() };
  const { epoch, batchInEpoch, globalStep, acc, lastEval } = state;
  return writeCheckpoint(
    root,
    checkpointName(globalStep),
    { live: parts.live, ema: parts.ema },
    { epoch, batchInEpoch, globalStep, seed: parts.seed, extra: { accum: acc, lastEval } },
    arrays,
  );
}
