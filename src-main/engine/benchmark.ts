// Engine benchmark (shared by bench/engine.ts and `puma bench`): img/s of the training step that
// `puma train` runs (src-main/engine/training/step.ts), from a training config like a run's:
// forward, the standard training step, one attack step (one input gradient of the training
// attack), and the PGD-AT step with a 10-step attack; with several processes also the same steps
// data-parallel (training/parallel-step.ts). The machine may be shared: every measurement is
// repeated and the best (least disturbed) run is kept.
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { parseTrainConfig, type TrainConfig } from '../../src-shared/domain/training';
import { initEngine } from './index';
import { createModel } from './models';
import { sgdFor } from './training/optimizer';
import { attackBatch, stepOptionsFor, trainStepAdversarial } from './training/step';
import { dataParallelTrainStepAdversarial } from './training/parallel-step';
import { EngineWorkerPool } from './workers';

export interface EngineBenchRow {
  model: string;
  batch: number;
  input_shape: [number, number, number];
  forward_img_s: number;
  /** The standard (no attack) training step: forward, backward, SGD update. */
  train_img_s: number;
  /** One step of the training attack: its random start and one input gradient. */
  input_grad_img_s: number;
  /** The PGD-AT training step: a 10-step attack, then the training step on the attacked batch. */
  pgd10_train_img_s: number;
  /** train step time / forward time (target on wasm for cnn-small: <= 3.5). */
  train_over_forward: number;
  /** The same training step data-parallel over `workers` processes (main + workers-1 forked); null when workers = 1. */
  train_parallel_img_s: number | null;
  /** The same PGD-10 training step data-parallel over the processes (each attacks its shard); null when workers = 1. */
  pgd10_train_parallel_img_s: number | null;
}

export interface EngineBenchResult {
  backend: string;
  device: string;
  workers: number;
  versions: Record<string, string>;
  notes: string[];
  load_avg_1m: number;
  results: EngineBenchRow[];
}

export interface EngineBenchOptions {
  backend?: string;
  models?: string[];
  quick?: boolean;
  /** Processes for the data-parallel measurements (default: number of CPU cores; 1 disables them). */
  workers?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export const BENCH_MODELS = ['cnn-small', 'resnet18'] as const;
const DEFAULT_BATCH: Record<string, number> = { 'cnn-small': 128, resnet18: 32 };

/** The run config the benchmark trains with: PGD-AT at ε = 8/255, 10 steps of 2/255 (the paper's CIFAR-10 attack). */
function benchConfig(arch: string, batch: number): TrainConfig {
  return parseTrainConfig({ arch, batch_size: batch, method: 'pgd_at', eps: 8 / 255, attack_steps: 10, attack_step_size: 2 / 255, lr: 0.01 }, 'benchmark.ts');
}

function bestTime(repeats: number, fn: () => void, warmUp = true): number {
  if (warmUp) fn(); // XNNPACK operator creation, weight packing, allocator growth
  let best = Infinity;
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    fn();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

/** Best times of several functions measured in alternation, so that each sees the same load. */
function bestTimesInterleaved(repeats: number, fns: Array<() => void>): number[] {
  fns.forEach((fn) => fn()); // warm-up
  const best = fns.map(() => Infinity);
  for (let i = 0; i < repeats; i++) {
    fns.forEach((fn, j) => {
      const start = performance.now();
      fn();
      best[j] = Math.min(best[j], performance.now() - start);
    });
  }
  return best;
}

async function bestTimeAsync(repeats: number, fn: () => Promise<unknown>, warmUp = true): Promise<number> {
  if (warmUp) await fn();
  let best = Infinity;
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    await fn();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

const round = (v: number) => Math.round(v * 10) / 10;

export async function runEngineBench(opts: EngineBenchOptions = {}): Promise<EngineBenchResult> {
  const log = opts.log ?? (() => {});
  const models = opts.models ?? [...BENCH_MODELS];
  for (const m of models) {
    if (!(m in DEFAULT_BATCH)) throw new Error(`benchmark.ts: unknown benchmark model '${m}'; choose from ${Object.keys(DEFAULT_BATCH).join(', ')}`);
  }
  const processes = opts.workers ?? Math.max(1, os.cpus().length);
  if (!Number.isInteger(processes) || processes < 1) throw new Error(`benchmark.ts: workers must be a positive integer, got ${opts.workers}`);
  const info = await initEngine(opts.backend);
  log(`backend ${info.backend} (${info.device}), ${processes} process(es)`);
  const pool = processes > 1 ? await EngineWorkerPool.start({ workers: processes - 1, backend: info.backend }) : null;
  const repeats = opts.quick ? 1 : 5;
  const results: EngineBenchRow[] = [];
  try {
    for (const arch of models) {
      const batch = DEFAULT_BATCH[arch]!;
      const config = benchConfig(arch, batch);
      const inputShape: [number, number, number] = [32, 32, 3];
      const modelOptions = { inputShape, numClasses: 10, seed: 1 };
      const model = createModel(arch, modelOptions);
      const sgd = sgdFor(
        config,
        model.trainableWeights.map((w) => w.read() as tf.Variable),
      );
      const x = tf.randomUniform([batch, ...inputShape], 0, 1, 'float32', 1) as tf.Tensor4D;
      const labels = Int32Array.from({ length: batch }, (_, i) => i % 10);
      const y = tf.tensor1d(labels, 'int32');
      const batchOf = { eps: config.eps, seed: 1 };
      const standard = stepOptionsFor({ ...config, method: 'standard' }, batchOf);
      const oneAttackStep = stepOptionsFor({ ...config, attack_steps: 1 }, batchOf);
      const pgd10 = stepOptionsFor(config, batchOf);
      try {
        // Forward, train step and attack step alternate (their ratio is a target, and the
        // machine's load drifts); the whole batch goes in one forward pass (predict would split
        // it into batches of 32).
        const [forwardMs, trainMs, inputGradMs] = bestTimesInterleaved(repeats, [
          () => {
            const out = model.predict(x, { batchSize: batch }) as tf.Tensor;
            out.dataSync();
            out.dispose();
          },
          () => trainStepAdversarial(model, sgd, x, y, standard, config.lr),
          () => {
            const adv = attackBatch(model, x, y, oneAttackStep)!;
            adv.dataSync();
            adv.dispose();
          },
        ]);
        // (kernels are warm from the steps above; --quick runs the PGD step once)
        const pgdMs = bestTime(1, () => trainStepAdversarial(model, sgd, x, y, pgd10, config.lr), !opts.quick);
        let parallelMs: number | null = null;
        let pgdParallelMs: number | null = null;
        if (pool != null) {
          await pool.createModel(arch, modelOptions);
          parallelMs = await bestTimeAsync(repeats, () => dataParallelTrainStepAdversarial(pool, model, sgd, x, labels, standard, config.lr));
          pgdParallelMs = await bestTimeAsync(1, () => dataParallelTrainStepAdversarial(pool, model, sgd, x, labels, pgd10, config.lr), !opts.quick);
        }
        const row: EngineBenchRow = {
          model: arch,
          batch,
          input_shape: inputShape,
          forward_img_s: round((batch * 1000) / forwardMs),
          train_img_s: round((batch * 1000) / trainMs),
          input_grad_img_s: round((batch * 1000) / inputGradMs),
          pgd10_train_img_s: round((batch * 1000) / pgdMs),
          train_over_forward: Math.round((trainMs / forwardMs) * 100) / 100,
          train_parallel_img_s: parallelMs == null ? null : round((batch * 1000) / parallelMs),
          pgd10_train_parallel_img_s: pgdParallelMs == null ? null : round((batch * 1000) / pgdParallelMs),
        };
        log(JSON.stringify(row));
        results.push(row);
      } finally {
        tf.dispose([x, y]);
        sgd.dispose();
        model.dispose();
      }
    }
  } finally {
    await pool?.close();
  }
  return {
    backend: info.backend,
    device: info.device,
    workers: processes,
    versions: info.versions,
    notes: info.notes,
    load_avg_1m: round(os.loadavg()[0]!),
    results,
  };
}
