/**
 * Exact resume with a real crash: a train job process is killed with SIGKILL at a random point
 * after its first epoch checkpoint, the run is resumed, and its final EMA model has the same
 * weights, bit for bit, as an uninterrupted run of the same seed on the same backend.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src-main/engine/training';
import { forkJobLauncher } from '../../src-main/jobs/fork-launcher';
import { PumaApp } from '../../src-main/services/app';
import { TrainingService } from '../../src-main/services/training/service';
import { processAlive } from '../../src-main/store/repos/runs';
import { testRandom } from '../helpers/seed';
import { tempDir, waitUntil } from '../helpers/tmp';

const haveFashion = fs.existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz');
const config = {
  dataset: 'fashion-mnist',
  train_subset: 384,
  arch: 'mlp',
  method: 'pgd_at',
  attack_steps: 2,
  batch_size: 32,
  epoch_size: 512,
  epochs: 6,
  eval_every: 0,
  eval_subset: 32,
  eval_attack_steps: 1,
  ema_tau: 0.9,
  seed: 3,
  backend: 'wasm',
  log_every: 1,
};

let app: PumaApp;
let training: TrainingService;
let cleanup: () => void;

beforeAll(async () => {
  await tf.setBackend('cpu');
  const t = tempDir('puma-kill-');
  cleanup = t.cleanup;
  app = new PumaApp({ dbPath: path.join(t.dir, 'log.db'), launcher: forkJobLauncher(), mode: 'browser' });
  training = app.training;
});
afterAll(() => {
  app?.close();
  cleanup?.();
});

async function finalWeights(runId: number): Promise<Float32Array[]> {
  const result = app.runs.get(runId).result as { final_model: string };
  const model = await loadModel(result.final_model);
  const ws = model.getWeights().map((w) => w.dataSync() as Float32Array);
  model.dispose();
  return ws;
}

describe.skipIf(!haveFashion)('train job killed by the OS and resumed', () => {
  it('ends with the same weights as an uninterrupted run', async () => {
    const { runId: reference } = await training.start(config, 'reference');
    expect(await app.runner.waitFor(reference)).toBe('finished');

    const { runId } = await training.start(config, 'killed');
    await waitUntil(() => app.runs.checkpoints(runId).length >= 1, 120_000, 'the first epoch checkpoint');
    // Somewhere inside the second epoch (an epoch here takes about a second).
    const random = testRandom();
    const waitMs = Math.round(random.uniform() * 300);
    const why = `killed ${waitMs} ms after the first checkpoint, ${random.label}`;
    await new Promise((r) => setTimeout(r, waitMs));
    const pid = (app.db.prepare('SELECT pid FROM runs WHERE id = ?').get(runId) as { pid: number | null }).pid;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid!, 'SIGKILL');
    expect(await app.runner.waitFor(runId)).toBe('interrupted');
    await waitUntil(() => !processAlive(pid!), 10_000, 'the killed job to end');

    training.resume(runId);
    expect(await app.runner.waitFor(runId)).toBe('finished');
    // It continued from the checkpoint rather than starting again.
    expect((app.runs.get(runId).result as { resumed_from: string | null }).resumed_from).toMatch(/checkpoints/);
    expect((app.runs.get(reference).result as { resumed_from: string | null }).resumed_from).toBeNull();
    const [a, b] = [await finalWeights(reference), await finalWeights(runId)];
    expect(b.length).toBe(a.length);
    a.forEach((w, i) => expect(Array.from(b[i]!), `weight ${i}, ${why}`).toEqual(Array.from(w)));

    // The killed attempt's points past its checkpoint were dropped at the resume: every key has
    // each step once, the same steps as the uninterrupted run, and the same number of points.
    const duplicates = app.db.prepare('SELECT key, step, COUNT(*) AS n FROM metrics WHERE run_id = ? GROUP BY key, step HAVING n > 1').all(runId);
    expect(duplicates, why).toEqual([]);
    const stepsOf = (id: number) =>
      app.db.prepare('SELECT key, COUNT(*) AS n, MAX(step) AS last FROM metrics WHERE run_id = ? GROUP BY key ORDER BY key').all(id);
    expect(stepsOf(runId), why).toEqual(stepsOf(reference));
    expect((stepsOf(runId) as Array<{ key: string }>).map((r) => r.key)).toContain('train/batch_loss');
  });
});
