// Engine benchmark: img/s of forward, one SGD training step, one input gradient (attack step),
// and PGD-10 adversarial training (10 input-gradient steps + 1 training step).
// Run directly: `npx tsx bench/engine.ts [--backend wasm] [--models cnn-small,resnet18] [--workers N] [--quick]`.
// The machine is shared: every measurement is repeated and the best (least disturbed) is kept.
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { initEngine, createModel, trainStep, inputGradient, pgdLinf } from '../src-main/engine';
import { EngineWorkerPool, dataParallelTrainStep } from '../src-main/engine/workers';

export interface EngineBenchRow {
  model: string;
  batch: number;
  input_shape: [number, number, number];
  forward_img_s: number;
  train_img_s: number;
  input_grad_img_s: number;
  pgd10_train_img_s: number;
  /** train step time / forward time (target on wasm for cnn-small: <= 3.5). */
  train_over_forward: number;
  /** Data-parallel SGD step over `workers` processes (main + workers-1 forked); null when workers = 1. */
  train_parallel_img_s: number | null;
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

const DEFAULT_BATCH: Record<string, number> = { 'cnn-small': 128, resnet18: 32 };

function bestTime(repeats: number, fn: () => void): number {
  fn(); // warm-up: XNNPACK operator creation, weight packing, allocator growth
  let best = Infinity;
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    fn();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

const round = (v: number) => Math.round(v * 10) / 10;

export interface EngineBenchOptions {
  backend?: string;
  models?: string[];
  quick?: boolean;
  /** Processes for the data-parallel measurement (default: number of CPU cores; 1 disables it). */
  workers?: number;
}

async function bestTimeAsync(repeats: number, fn: () => Promise<unknown>): Promise<number> {
  await fn();
  let best = Infinity;
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    await fn();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

export async function runEngineBench(opts: EngineBenchOptions = {}): Promise<EngineBenchResult> {
  const info = await initEngine(opts.backend);
  const processes = opts.workers ?? Math.max(1, os.cpus().length);
  if (!Number.isInteger(processes) || processes < 1) throw new Error(`bench/engine.ts: workers must be a positive integer, got ${opts.workers}`);
  const pool = processes > 1 ? await EngineWorkerPool.start({ workers: processes - 1, backend: info.backend }) : null;
  const models = opts.models ?? ['cnn-small', 'resnet18'];
  const repeats = opts.quick ? 1 : 3;
  const results: EngineBenchRow[] = [];
  for (const arch of models) {
    const batch = DEFAULT_BATCH[arch] ?? 32;
    const inputShape: [number, number, number] = [32, 32, 3];
    const modelOptions = { inputShape, numClasses: 10, seed: 1 };
    const model = createModel(arch, modelOptions);
    const optimizer = tf.train.sgd(0.01);
    const x = tf.randomUniform([batch, ...inputShape], 0, 1, 'float32', 1) as tf.Tensor4D;
    const y = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), 'int32');
    const forwardMs = bestTime(repeats, () => {
      const out = model.predict(x) as tf.Tensor;
      out.dataSync();
      out.dispose();
    });
    const trainMs = bestTime(repeats, () => trainStep(model, optimizer, x, y));
    const inputGradMs = bestTime(repeats, () => {
      const g = inputGradient(model, x, y);
      g.dataSync();
      g.dispose();
    });
    const pgdMs = bestTime(opts.quick ? 0 : 1, () => {
      const adv = pgdLinf(model, x, y, 8 / 255, 2 / 255, 10);
      trainStep(model, optimizer, adv, y);
      adv.dispose();
    });
    let parallelMs: number | null = null;
    if (pool != null) {
      await pool.createModel(arch, modelOptions);
      parallelMs = await bestTimeAsync(repeats, () => dataParallelTrainStep(pool, model, optimizer, x, y));
    }
    results.push({
      model: arch,
      batch,
      input_shape: inputShape,
      forward_img_s: round((batch * 1000) / forwardMs),
      train_img_s: round((batch * 1000) / trainMs),
      input_grad_img_s: round((batch * 1000) / inputGradMs),
      pgd10_train_img_s: round((batch * 1000) / pgdMs),
      train_over_forward: Math.round((trainMs / forwardMs) * 100) / 100,
      train_parallel_img_s: parallelMs == null ? null : round((batch * 1000) / parallelMs),
    });
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  }
  await pool?.close();
  return {
    backend: info.backend,
    device: info.device,
    workers: processes,
    versions: info.versions,
    notes: info.notes,
    load_avg_1m: round(os.loadavg()[0]),
    results,
  };
}

function parseArgs(argv: string[]): EngineBenchOptions {
  const out: EngineBenchOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') out.quick = true;
    else if (a === '--backend') out.backend = argv[++i];
    else if (a === '--models') out.models = argv[++i]?.split(',').filter(Boolean);
    else if (a === '--workers') out.workers = Number(argv[++i]);
    else throw new Error(`bench/engine.ts: unknown argument '${a}' (expected --backend NAME, --models a,b, --workers N, --quick)`);
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = await runEngineBench(parseArgs(process.argv.slice(2)));
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}
