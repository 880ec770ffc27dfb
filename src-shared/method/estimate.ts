/**
 * How long a train run will take, before it starts: a cost model in "train-step images" scaled by
 * a throughput that was measured (a finished run of the log with the same architecture and
 * backend) or, failing that, the benchmark numbers in README. It is an estimate: the UI says so.
 * Pure: no Node, no DOM.
 */
import { isScoredStrategy, type TrainConfig } from '../domain/training';

/**
 * One attack step (an input gradient) costs about 0.7 of a training step: README's cnn-small
 * benchmark on wasm, train step 330 img/s (3.0 ms) and PGD-10 training 41 img/s (24.4 ms), so
 * (24.4 − 3.0) / 10 = 2.1 ms per step. Checked against TRADES with 4 steps: predicted 87 img/s,
 * measured 85.3.
 */
export const ATTACK_STEP_COST = 0.7;
/** A forward pass alone, relative to a training step (README: train step = 3.06–3.24 × forward). */
export const FORWARD_COST = 0.32;

/** README benchmarks, one wasm process, 28×28×1 inputs: training-step images per second. */
export const REFERENCE_TRAIN_IMG_S: Record<TrainConfig['arch'], number | null> = {
  mlp: null,
  'cnn-small': 330,
  resnet18: 7.5,
  'preact-resnet18': 7.5,
  wrn: null,
};
/** Plain-JS cpu is ~400× slower than wasm (README: 0.2 vs 85.3 img/s, TRADES 4 steps). */
const CPU_SLOWDOWN = 400;
/** README, fast margin / DeepFool on a trained cnn-small, one process: samples per second. */
export const REFERENCE_MARGIN_SAMPLES_S = { fast: 30, deepfool: 14 } as const;

/** Data-parallel speed-up over `workers` processes (README: 2 processes give 1.5–1.76×). */
export function parallelSpeedup(workers: number): number {
  return 1 + 0.65 * Math.max(0, workers - 1);
}

/** Cost of one training image in train-step units, for a method and its attack steps. */
export function trainImageCost(method: TrainConfig['method'], attackSteps: number): number {
  return 1 + (method === 'standard' ? 0 : attackSteps * ATTACK_STEP_COST);
}

/** A measured throughput: seconds per train-step unit of one image at 28×28×1-sized input, one process. */
export interface Throughput {
  unitSeconds: number;
  /** Where the number comes from, in words. */
  basis: string;
}

/** The throughput of a finished run: its training img/s turned into seconds per unit. */
export function throughputFromRun(run: {
  id: number;
  imagesPerSecond: number;
  method: TrainConfig['method'];
  attackSteps: number;
  workers: number;
  pixels: number;
  arch: string;
  backend: string;
}): Throughput | null {
  if (!(run.imagesPerSecond > 0)) return null;
  const unitSeconds = ((1 / run.imagesPerSecond) * parallelSpeedup(run.workers)) / trainImageCost(run.method, run.attackSteps) / (run.pixels / 784);
  return { unitSeconds, basis: `measured in run ${run.id} (${run.arch}, ${run.backend}, ${run.imagesPerSecond.toFixed(0)} img/s)` };
}

/** The README benchmark for an architecture on a backend, when there is one. */
export function referenceThroughput(arch: TrainConfig['arch'], backend: string): Throughput | null {
  const ref = REFERENCE_TRAIN_IMG_S[arch];
  if (ref === null || !(backend === 'wasm' || backend === 'cpu')) return null;
  const slow = backend === 'cpu' ? CPU_SLOWDOWN : 1;
  return {
    unitSeconds: slow / ref,
    basis: `README benchmark (${arch} on ${backend}: ${ref / slow < 1 ? (ref / slow).toFixed(2) : ref} training img/s per process)`,
  };
}

export interface TrainEstimate {
  seconds: number;
  phases: { margin_model: number; margins: number; training: number; evaluation: number };
  /** Predicted training throughput, img/s. */
  images_per_second: number;
  basis: string;
}

/** Which strategies compute margins before training (and train a margin model when none is given). */
export function needsMargins(c: Pick<TrainConfig, 'strategy' | 'score' | 'margin_model' | 'margin_set'>): { margins: boolean; model: boolean } {
  const margins = c.strategy === 'puma' || (isScoredStrategy(c.strategy) && c.score === 'margin');
  return { margins: margins && c.margin_set == null, model: margins && c.margin_set == null && c.margin_model == null };
}

/**
 * Seconds for a run: margin model (when trained first), margins, training, evaluations.
 * `pool` is the number of training originals used (after train_subset), `pixels` H×W of one image,
 * `workers` the processes it will use.
 */
export function estimateTrainSeconds(c: TrainConfig, t: Throughput, env: { pool: number; pixels: number; workers: number }): TrainEstimate {
  const unit = (t.unitSeconds * (env.pixels / 784)) / parallelSpeedup(env.workers);
  const perImage = unit * trainImageCost(c.method, c.attack_steps);
  const pruned = c.strategy === 'none' ? 0 : c.strategy === 'pe_pd' ? c.prune_ratio + c.pd_ratio : c.strategy === 'online_puma' ? 0 : c.prune_ratio;
  const kept = Math.max(1, Math.round(env.pool * (1 - pruned)));
  const training = c.epochs * (c.epoch_size ?? kept) * perImage;
  const evals = c.eval_every > 0 ? Math.ceil(c.epochs / c.eval_every) : 1;
  const evalImages = c.eval_subset ?? 10_000;
  const evaluation = evals * evalImages * unit * (FORWARD_COST + 2 * c.eval_attack_steps * ATTACK_STEP_COST);
  const need = needsMargins(c);
  const marginModel = need.model ? c.margin_model_epochs * (c.epoch_size ?? env.pool) * perImage : 0;
  // README's margin rates were measured with cnn-small (1/330 s per unit); other models scale with their unit.
  const unitOneProcess = t.unitSeconds * (env.pixels / 784);
  const marginRate = ((REFERENCE_MARGIN_SAMPLES_S[c.margin_method] * (1 / 330)) / unitOneProcess) * parallelSpeedup(env.workers);
  const margins = need.margins ? env.pool / marginRate : 0;
  const phases = { margin_model: marginModel, margins, training, evaluation };
  return { seconds: marginModel + margins + training + evaluation, phases, images_per_second: 1 / perImage, basis: t.basis };
}
