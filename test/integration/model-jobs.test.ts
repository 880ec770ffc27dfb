import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelInfo } from '../../src-shared/domain/models';
import type { RunDetail } from '../../src-shared/domain/runs';
import { forkJobLauncher } from '../../src-main/jobs/fork-launcher';
import { PumaApp } from '../../src-main/services/app';
import { DatasetService } from '../../src-main/services/datasets';
import { fileSaveHandler } from '../../src-main/services/models';
import { startHttpServer, type RunningServer } from '../../src-main/transport/http';
import { tempDir, waitUntil } from '../helpers/tmp';
import { int64Labels, npyFile, write, zipFile } from '../unit/datasets/writers';

// Model import and evaluation run as `models` jobs (src-main/jobs/models/job.ts): the main
// process, which serves the UI, only queues them and must keep answering while they compute.

const N = 800;
const SHAPE = [16, 16, 3] as const;
let dir: string;
let cleanup: () => void;
let app: PumaApp;
let server: RunningServer;

function post(op: string, body: unknown): Promise<{ status: number; json: { result?: unknown; error?: string } }> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request(
      {
        host: '127.0.0.1',
        port: server.port,
        method: 'POST',
        path: `/api/${op}`,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as { result?: unknown; error?: string } }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** A small CNN saved as TF.js files; its PGD-20 evaluation over N images takes seconds on the CPU. */
async function saveCnn(folder: string, seed: number): Promise<string> {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: seed * 10 + s });
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [...SHAPE], filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1) }),
      tf.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(2) }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 3, kernelInitializer: init(3) }),
    ],
  });
  await model.save(fileSaveHandler(folder));
  model.dispose();
  return folder;
}

const modelFolders = () => fs.readdirSync(path.join(app.dataDir, 'models')).sort();
const runOf = async (id: number) => (await post('runs.get', { id })).json.result as RunDetail;

beforeAll(async () => {
  await tf.setBackend('cpu');
  ({ dir, cleanup } = tempDir('puma-model-jobs-'));
  app = new PumaApp({ dbPath: path.join(dir, 'log.db'), launcher: forkJobLauncher(), mode: 'browser', allowedRoots: [dir] });
  const images = Uint8Array.from({ length: N * 16 * 16 * 3 }, (_, i) => (i * 37) % 256);
  const labels = Array.from({ length: N }, (_, i) => i % 3);
  const npz = write(dir, 'toy.npz', zipFile({ 'image.npy': npyFile('|u1', [N, ...SHAPE], images), 'label.npy': npyFile('<i8', [N], int64Labels(labels)) }));
  await new DatasetService(app.db, app.dataDir).importDataset({ path: npz, name: 'toy', classNames: ['a', 'b', 'c'] });
  server = await startHttpServer({ app, staticDir: dir });
});

afterAll(async () => {
  await server?.close();
  app?.close();
  cleanup?.();
});

describe('model work runs as jobs', () => {
  it('answers app.info within 100 ms, again and again, while an import evaluates its model', async () => {
    const folder = await saveCnn(path.join(dir, 'cnn-a'), 1);
    const started = await post('models.import', { path: folder, name: 'cnn-a', evaluateOn: 'toy', robustEps: 0.03 });
    expect(started.status, started.json.error).toBe(200);
    const { runId } = started.json.result as { runId: number };
    // measure only while the job computes (the evaluation reports progress per batch)
    await waitUntil(() => app.runs.get(runId).progress > 0 || !['queued', 'running'].includes(app.runs.get(runId).status), 120_000, 'the evaluation to start');
    const latencies: number[] = [];
    while (app.runs.get(runId).status === 'running') {
      const t0 = performance.now();
      const info = await post('app.info', {});
      latencies.push(performance.now() - t0);
      expect(info.status).toBe(200);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(latencies.length, 'the import ended before the main process could be measured').toBeGreaterThanOrEqual(5);
    for (const ms of latencies) expect(ms, `app.info latencies (ms): ${latencies.map((v) => v.toFixed(1)).join(', ')}`).toBeLessThan(100);

    expect(await app.runner.waitFor(runId), app.runs.get(runId).error ?? '').toBe('finished');
    const run = await runOf(runId);
    expect(run.kind).toBe('models');
    const modelId = (run.result as { model_id: number }).model_id;
    const info = (await post('models.get', { id: modelId })).json.result as ModelInfo;
    expect(info.name).toBe('cnn-a');
    expect(info.accuracy).toMatchObject({ count: N, robustEps: 0.03 });
    expect(fs.existsSync(path.join(info.storageDir, 'model.json'))).toBe(true);
  }, 240_000);

  it('cancels an import mid-evaluation: the run is cancelled, no model row, no folder left', async () => {
    const folder = await saveCnn(path.join(dir, 'cnn-b'), 2);
    const before = modelFolders();
    const started = await post('models.import', { path: folder, name: 'cnn-b', evaluateOn: 'toy', robustEps: 0.03 });
    const { runId } = started.json.result as { runId: number };
    await waitUntil(() => app.runs.get(runId).progress > 0, 120_000, 'the evaluation to start');
    expect(app.runs.get(runId).status).toBe('running');
    expect((await post('runs.cancel', { id: runId })).status).toBe(200);
    expect(await app.runner.waitFor(runId)).toBe('cancelled');
    const models = (await post('models.list', {})).json.result as ModelInfo[];
    expect(models.map((m) => m.name)).not.toContain('cnn-b');
    expect(modelFolders()).toEqual(before);
  }, 240_000);

  it('evaluates a model as a run and stores the accuracy; an unknown dataset is a 404 before any run', async () => {
    const model = ((await post('models.list', {})).json.result as ModelInfo[]).find((m) => m.name === 'cnn-a')!;
    const started = await post('models.evaluate', { id: model.id, dataset: 'toy', count: 60 });
    expect(started.status, started.json.error).toBe(200);
    const { runId } = started.json.result as { runId: number };
    expect(await app.runner.waitFor(runId), app.runs.get(runId).error ?? '').toBe('finished');
    expect((app.runs.get(runId).result as { model_id: number }).model_id).toBe(model.id);
    const info = (await post('models.get', { id: model.id })).json.result as ModelInfo;
    expect(info.accuracy).toMatchObject({ count: 60, robust: null, robustEps: null });
    const unknown = await post('models.evaluate', { id: model.id, dataset: 'no-such-dataset' });
    expect(unknown.status).toBe(404);
  }, 120_000);

  it('refuses what can be checked cheaply with a 400 before any run is queued', async () => {
    const runsBefore = app.runs.list({}).length;
    const missing = await post('models.import', { path: path.join(dir, 'nowhere.pt'), name: 'x' });
    expect(missing.status).toBe(400);
    expect(missing.json.error).toMatch(/nowhere\.pt: no such file/);
    const taken = await post('models.import', { path: path.join(dir, 'cnn-a'), name: 'cnn-a' });
    expect(taken.status).toBe(400);
    expect(taken.json.error).toMatch(/named "cnn-a" already exists/);
    expect(app.runs.list({}).length).toBe(runsBefore);
  });
});
