/**
 * Training benchmark: img/s of the laptop preset's training step (attack included) per backend,
 * and (with --full) the wall time of the whole laptop preset run through the job + CLI path.
 *
 *   npx tsx bench/training.ts [--backends wasm,cpu] [--batches 6] [--cpu-batches 2] [--cpu-batch-size 16] [--workers N]
 *                             [--full] [--strategy puma]
 *
 * The plain cpu backend is far slower than wasm, so it runs only --cpu-batches batches of
 * --cpu-batch-size images (the first batch is warm-up); img/s is per image either way. Prints one JSON object. Uses PUMA_HOME (default: a temporary folder) for the log and data;
 * Fashion-MNIST is imported from /usr/share/datasets/fashion-mnist when missing.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { initEngine } from '../src-main/engine';
import { trainModel, type BatchSource } from '../src-main/engine/training';
import { openDatabase } from '../src-main/store/db';
import { DatasetService } from '../src-main/services/datasets/service';
import { openRunData } from '../src-main/services/training/data';
import { readPresetRaw } from '../src-main/services/training/presets';
import { parseTrainConfig } from '../src-shared/domain/training';

const { values } = parseArgs({
  options: {
    backends: { type: 'string', default: 'wasm,cpu' },
    batches: { type: 'string', default: '6' },
    'cpu-batches': { type: 'string', default: '2' },
    'cpu-batch-size': { type: 'string', default: '16' },
    full: { type: 'boolean', default: false },
    strategy: { type: 'string', default: 'none' },
    /** the config's workers (processes sharing each batch's attack; 0 = one per core); default: the preset's */
    workers: { type: 'string' },
  },
});

async function main(): Promise<void> {
  const home = process.env.PUMA_HOME ?? fs.mkdtempSync(path.join(os.tmpdir(), 'puma-bench-'));
  const dbPath = path.join(home, 'puma.db');
  const db = openDatabase(dbPath);
  const datasets = new DatasetService(db, path.join(home, 'data'));
  if (!datasets.list().some((d) => d.name === 'fashion-mnist')) {
    await datasets.importDataset({ path: '/usr/share/datasets/fashion-mnist', name: 'fashion-mnist' });
  }
  const load = Number(os.loadavg()[0]!.toFixed(2));
  const preset = parseTrainConfig(readPresetRaw('laptop'));
  const perBackend: Record<string, unknown> = {};
  for (const backend of values.backends.split(',')) {
    const info = await initEngine(backend);
    const batches = Number(backend === 'cpu' ? values['cpu-batches'] : values.batches);
    if (!(Number.isInteger(batches) && batches >= 2))
      throw new Error(`bench/training.ts: --batches / --cpu-batches must be integers ≥ 2 (one warm-up batch), got ${batches}`);
    const batchSize = backend === 'cpu' ? Number(values['cpu-batch-size']) : preset.batch_size;
    const config = {
      ...preset,
      batch_size: batchSize,
      epochs: 1,
      eval_every: 0,
      eval_subset: 10,
      eval_attack_steps: 0,
      epoch_size: batches * batchSize,
      ...(values.workers != null ? { workers: Number(values.workers) } : {}),
    };
    const data = openRunData(datasets, config);
    const pool = data.makePool(config, data.candidates, null);
    // The first batch warms the kernels up; img/s is measured over the rest.
    let warmEnd = 0;
    let warmSamples = 0;
    const src: BatchSource = pool;
    const runDir = fs.mkdtempSync(path.join(home, `bench-${backend}-`));
    const t0 = performance.now();
    const r = await trainModel({
      config,
      data: {
        pool: src,
        poolSize: data.poolSize,
        test: data.test,
        inputShape: data.inputShape,
        numClasses: data.numClasses,
        normalization: data.normalization,
      },
      runDir,
      hooks: {
        onBatch: (p) => {
          if (p.batch === 1) ((warmEnd = performance.now()), (warmSamples = batchSize));
        },
      },
    });
    const steady = (r.globalStep * batchSize - warmSamples) / ((performance.now() - warmEnd - r.evalSeconds * 1000) / 1000);
    perBackend[backend] = {
      device: info.device,
      method: config.method,
      attack_steps: config.attack_steps,
      processes: r.trainingProcesses,
      batch_size: config.batch_size,
      batches: r.globalStep,
      images_per_second: Number(steady.toFixed(1)),
      images_per_second_with_warmup: Number(r.imagesPerSecond.toFixed(1)),
      seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
    };
    r.live.dispose();
    r.ema.dispose();
    data.close();
  }
  let full: unknown = null;
  if (values.full) {
    const t0 = performance.now();
    const out = execFileSync(
      process.execPath,
      ['bin/puma.mjs', 'train', '--preset', 'laptop', '--set', `strategy=${values.strategy}`, '--set', 'prune_ratio=0.2', '--json', '--db', dbPath],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    full = { strategy: values.strategy, wall_seconds: Number(((performance.now() - t0) / 1000).toFixed(1)), result: JSON.parse(out) };
  }
  db.close();
  process.stdout.write(
    JSON.stringify({ bench: 'training', preset: 'laptop', cpus: os.cpus().length, load_average_1m: load, backends: perBackend, full }) + '\n',
  );
}

void main();
