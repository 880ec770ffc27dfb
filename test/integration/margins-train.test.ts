/**
 * "Train a margin model": models.train starts a (tiny) adversarial train run tagged margin-model;
 * when it finishes, its final EMA model becomes a margin model with the run as provenance and the
 * run's clean/robust accuracy, usable by a margin job.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelInfo } from '../../src-shared/domain/models';
import { forkJobLauncher } from '../../src-main/jobs/fork-launcher';
import { PumaApp } from '../../src-main/services/app';
import { DatasetService } from '../../src-main/services/datasets';
import { loadModelFromDir } from '../../src-main/services/models';
import { modelOfRun } from '../helpers/model-runs';
import { tempDir } from '../helpers/tmp';
import { idxFile, write } from '../unit/datasets/writers';

const N = 300;
const SHAPE = [6, 6, 1] as const;
let dir: string;
let cleanup: () => void;
let app: PumaApp;

beforeAll(async () => {
  await tf.setBackend('cpu');
  ({ dir, cleanup } = tempDir('puma-margins-train-'));
  // Class k = brightest third of the image, for train and test parts.
  const images = new Uint8Array(N * 36);
  const labels: number[] = [];
  for (let i = 0; i < N; i++) {
    const k = i % 3;
    labels.push(k);
    for (let p = 0; p < 36; p++) images[i * 36 + p] = Math.floor(p / 12) === k ? 200 : 40 + ((i * 7 + p * 13) % 60);
  }
  // MNIST's IDX layout: the first 240 images train, the last 60 test (training evaluates on test).
  const src = path.join(dir, 'toy-idx');
  const TRAIN = 240;
  write(src, 'train-images-idx3-ubyte', idxFile([TRAIN, 6, 6], images.subarray(0, TRAIN * 36)));
  write(src, 'train-labels-idx1-ubyte', idxFile([TRAIN], Uint8Array.from(labels.slice(0, TRAIN))));
  write(src, 't10k-images-idx3-ubyte', idxFile([N - TRAIN, 6, 6], images.subarray(TRAIN * 36)));
  write(src, 't10k-labels-idx1-ubyte', idxFile([N - TRAIN], Uint8Array.from(labels.slice(TRAIN))));
  app = new PumaApp({ dbPath: path.join(dir, 'log.db'), launcher: forkJobLauncher(), mode: 'browser' });
  await new DatasetService(app.db, app.dataDir).importDataset({ path: src, name: 'toy', classNames: ['top', 'middle', 'bottom'] });
});

afterAll(() => {
  app?.close();
  cleanup?.();
});

describe('training a margin model in the app', () => {
  it('registers the final EMA model of a finished margin-model train run, with provenance and accuracy', async () => {
    const dataset = (await app.dispatch('datasets.list', {})) as Array<{ id: number; name: string; splits: { test?: { count: number } } }>;
    const toy = dataset.find((d) => d.name === 'toy')!;
    const { runId } = (await app.dispatch('models.train', {
      name: 'toy-trained',
      arch: 'mlp',
      dataset: toy.id,
      epochs: 2,
      method: 'pgd_at',
      eps: 0.05,
      extra: { width: 16, depth: 1, batch_size: 50, attack_steps: 2, eval_subset: 60, eval_attack_steps: 2, backend: 'cpu' },
    })) as { runId: number };
    expect(app.runs.get(runId).tags).toMatch(/margin-model/);
    // Not a margin model before it finishes.
    expect(((await app.dispatch('models.list', {})) as ModelInfo[]).some((m) => m.provenance.runId === runId)).toBe(false);

    const status = await app.runner.waitFor(runId);
    expect(status, app.runs.get(runId).error ?? '').toBe('finished');
    // Registered by a models run the run.status listener queues (or models.list, had it been missed).
    let info: ModelInfo | undefined;
    for (let tries = 0; !info && tries < 600; tries++) {
      info = ((await app.dispatch('models.list', {})) as ModelInfo[]).find((m) => m.provenance.runId === runId);
      if (!info) await new Promise((r) => setTimeout(r, 100));
    }
    if (!info) throw new Error('the finished run was not registered as a margin model');
    expect(info.name).toBe('toy-trained');
    expect(info.source).toBe('trained');
    expect(info.provenance.architecture).toBe('mlp');
    expect(info.inputShape).toEqual([...SHAPE]);
    expect(info.numClasses).toBe(3);
    const metrics = (app.runs.get(runId).result as { metrics: { clean_acc: number; robust_acc_pgd: number } }).metrics;
    expect(info.accuracy).not.toBeNull();
    expect(info.accuracy!.clean).toBe(metrics.clean_acc);
    expect(info.accuracy!.robust).toBe(metrics.robust_acc_pgd);
    expect(info.accuracy!.robustEps).toBe(0.05);
    expect(info.accuracy!.datasetId).toBe(toy.id);

    // The stored model is the run's final model (same outputs), and registering again is a no-op.
    const final = await loadModelFromDir((app.runs.get(runId).result as { final_model: string }).final_model);
    const stored = await loadModelFromDir(info.storageDir);
    const x = tf.randomUniform([5, ...SHAPE], 0, 1, 'float32', 3);
    expect(tf.max(tf.abs(tf.sub(final.predict(x) as tf.Tensor, stored.predict(x) as tf.Tensor))).dataSync()[0]).toBeLessThan(1e-6);
    const again = await modelOfRun(app, ((await app.dispatch('models.addTrainRun', { runId })) as { runId: number }).runId);
    expect(again.id).toBe(info.id);
    expect(((await app.dispatch('models.list', {})) as ModelInfo[]).filter((m) => m.provenance.runId === runId)).toHaveLength(1);
    // The CLI registers the same way (idempotent here).
    const cli = spawnSync(
      process.execPath,
      ['bin/puma.mjs', 'models', 'add-run', String(runId), '--json', '--backend', 'cpu', '--db', path.join(dir, 'log.db')],
      { encoding: 'utf8', cwd: path.resolve(__dirname, '../..') },
    );
    expect(cli.stderr).toBe('');
    expect(cli.status).toBe(0);
    expect((JSON.parse(cli.stdout.trim()) as { model_id: number }).model_id).toBe(info.id);
  }, 180_000);

  it('rejects runs that cannot give a margin model, naming the problem', async () => {
    const margins = app.startRun('margins', { bogus: true }, 'not a train run');
    await app.runner.waitFor(margins);
    await expect(app.dispatch('models.addTrainRun', { runId: margins })).rejects.toThrow(/run \d+ is a margins run, not a train run/);
    await expect(app.dispatch('models.addTrainRun', { runId: 999 })).rejects.toThrow(/Run 999 does not exist/);
    await expect(app.dispatch('models.train', { name: 'toy-trained', dataset: 'toy' })).rejects.toThrow(/named "toy-trained" already exists/);
  });
});
