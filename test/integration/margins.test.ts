import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeDeepFoolMargins, readNpyFloat32 } from '../../src-main/engine/margins';
import { forkJobLauncher } from '../../src-main/jobs/fork-launcher';
import { PumaApp } from '../../src-main/services/app';
import { DatasetService } from '../../src-main/services/datasets';
import { MarginService } from '../../src-main/services/margins';
import { fileSaveHandler, ModelService } from '../../src-main/services/models';
import { tempDir, waitUntil } from '../helpers/tmp';
import { int64Labels, npyFile, write, zipFile } from '../unit/datasets/writers';

const N = 480;
const SHAPE = [6, 6, 1] as const;
let dir: string;
let cleanup: () => void;
let app: PumaApp;
let margins: MarginService;
let images: Uint8Array;
let labels: number[];

/** Class k = brightest third of the image (with noise), so a small MLP gives mixed margins. */
function syntheticDataset(): { images: Uint8Array; labels: number[] } {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const img = new Uint8Array(N * 36);
  const lab: number[] = [];
  for (let i = 0; i < N; i++) {
    const k = i % 3;
    // One label in ten is wrong, so the model misclassifies some samples (negative margins).
    lab.push(i % 10 === 0 ? (k + 1) % 3 : k);
    for (let p = 0; p < 36; p++) img[i * 36 + p] = Math.floor(255 * Math.min(1, (Math.floor(p / 12) === k ? 0.5 : 0.2) + 0.5 * rand()));
  }
  return { images: img, labels: lab };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  ({ dir, cleanup } = tempDir('puma-margins-'));
  ({ images, labels } = syntheticDataset());
  app = new PumaApp({ dbPath: path.join(dir, 'log.db'), launcher: forkJobLauncher(), mode: 'browser' });
  margins = app.margins;
  const npz = write(dir, 'toy.npz', zipFile({ 'image.npy': npyFile('|u1', [N, ...SHAPE], images), 'label.npy': npyFile('<i8', [N], int64Labels(labels)) }));
  await new DatasetService(app.db, app.dataDir).importDataset({ path: npz, name: 'toy', classNames: ['top', 'middle', 'bottom'] });
});

afterAll(() => {
  app?.close();
  cleanup?.();
});

describe('margin models and margin jobs', () => {
  it('imports a TF.js Layers model saved to files, drops its softmax and records accuracy', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.flatten({ inputShape: [...SHAPE] }),
        tf.layers.dense({ units: 12, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
        tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
      ],
    });
    // Teach it a little so clean accuracy is above chance.
    model.compile({ optimizer: tf.train.adam(0.05), loss: 'sparseCategoricalCrossentropy' });
    const x = tf.tensor4d(
      Float32Array.from(images, (v) => v / 255),
      [N, ...SHAPE],
    );
    await model.fit(x, tf.tensor1d(labels, 'float32'), { epochs: 15, batchSize: 64, verbose: 0, shuffle: false });
    await model.save(fileSaveHandler(path.join(dir, 'exported')));
    expect(fs.existsSync(path.join(dir, 'exported', 'model.json'))).toBe(true);

    const models = new ModelService(app.db, app.dataDir);
    const info = await models.importModel({ path: path.join(dir, 'exported'), name: 'toy-mlp', evaluateOn: 'toy', robustEps: 0.05 });
    expect(info.droppedSoftmax).toBe(true);
    expect(info.inputShape).toEqual([...SHAPE]);
    expect(info.numClasses).toBe(3);
    expect(info.accuracy!.clean).toBeGreaterThan(0.6);
    expect(info.accuracy!.robust).not.toBeNull();
    expect(info.accuracy!.robust!).toBeLessThanOrEqual(info.accuracy!.clean);

    // The stored model outputs the logits: softmax of them is the original output.
    const stored = await models.load(info.id);
    const logits = stored.predict(x) as tf.Tensor;
    const probs = model.predict(x) as tf.Tensor;
    expect(tf.max(tf.abs(tf.sub(tf.softmax(logits), probs))).dataSync()[0]).toBeLessThan(1e-5);
    expect(tf.max(tf.abs(tf.sub(tf.sum(logits, 1), 1))).dataSync()[0]).toBeGreaterThan(1e-2);
    await expect(models.importModel({ path: path.join(dir, 'nowhere'), name: 'x' })).rejects.toThrow(/nowhere: no such file/);
  });

  it('computes margins as a job, resumes after a crash from the committed chunks, and writes .npy', async () => {
    const config = { datasetId: 'toy', modelId: 'toy-mlp', method: 'deepfool' as const, chunkSize: 4, batchSize: 4, backend: 'cpu', eps: 0.05 };
    const first = margins.start(config);
    expect(first.runId).not.toBeNull();
    const setId = first.marginSetId;
    // Kill the job process as soon as some chunks are committed: a crash, not a cancel.
    await waitUntil(() => margins.get(setId).chunksDone >= 1, 90_000, 'a committed chunk');
    const { pid } = app.db.prepare('SELECT pid FROM runs WHERE id = ?').get(first.runId) as { pid: number };
    process.kill(pid, 'SIGKILL');
    expect(await app.runner.waitFor(first.runId!)).toBe('interrupted');
    const before = margins.repo.chunks(setId);
    expect(before.length).toBeGreaterThanOrEqual(1);
    expect(before.length).toBeLessThan(margins.get(setId).chunksTotal);

    const second = margins.start(config);
    expect(second.marginSetId).toBe(setId);
    expect(await app.runner.waitFor(second.runId!)).toBe('finished');
    const set = margins.get(setId);
    expect(set.status).toBe('complete');
    expect(set.chunksDone).toBe(set.chunksTotal);
    // Chunks committed before the crash were kept, not recomputed.
    const after = new Map(margins.repo.chunks(setId).map((c) => [c.chunkIndex, c]));
    for (const c of before) {
      expect(after.get(c.chunkIndex)!.seconds).toBe(c.seconds);
      expect(Array.from(after.get(c.chunkIndex)!.margins)).toEqual(Array.from(c.margins));
    }
    const result = app.runs.get(second.runId!).result as { gradEvalsThisRun: number };
    const freshGrad = [...after.values()].filter((c) => !before.some((b) => b.chunkIndex === c.chunkIndex)).reduce((s, c) => s + c.gradEvals, 0);
    expect(result.gradEvalsThisRun).toBe(freshGrad);

    // The stored margins equal a direct DeepFool over the whole part, in dataset order.
    const stored = margins.read(setId);
    const model = await margins.models.load('toy-mlp');
    const direct = computeDeepFoolMargins(
      model,
      tf.tensor4d(
        Float32Array.from(images, (v) => v / 255),
        [N, ...SHAPE],
      ),
      labels,
      { norm: 'linf' },
    );
    expect(stored.length).toBe(N);
    for (let i = 0; i < N; i++) expect(stored[i]).toBeCloseTo(direct.margins[i]!, 4);
    expect(stored.some((m) => m < 0) && stored.some((m) => m > 0)).toBe(true);

    // A second request for the same set computes nothing.
    expect(margins.start(config).runId).toBeNull();
    const histogram = margins.histogram(setId, { bins: 20, eps: 0.05 });
    expect(histogram.counts.reduce((a, b) => a + b, 0)).toBe(N);
    const gallery = margins.gallery(setId, 4);
    expect(gallery.lowest[0]!.margin).toBe(Math.min(...stored));
    expect(gallery.highest[0]!.margin).toBe(Math.max(...stored));
    expect(gallery.lowest[0]!.image.length).toBe(36);
    expect(gallery.lowest[0]!.label).toBe(labels[gallery.lowest[0]!.index]);
  });

  it('splits a fast-margin job across two worker processes, with the same margins as one process', async () => {
    const params = { stepSize: 0.02, iMax: 20, jMax: 8 };
    const started = margins.start({ datasetId: 'toy', modelId: 'toy-mlp', method: 'fast', params, chunkSize: 40, batchSize: 40, workers: 2, backend: 'cpu' });
    expect(await app.runner.waitFor(started.runId!)).toBe('finished');
    expect(app.runs.get(started.runId!).device).toMatch(/× 2 processes/);
    const stored = margins.read(started.marginSetId);
    const model = await margins.models.load('toy-mlp');
    const { computeFastMargins } = await import('../../src-main/engine/margins');
    const direct = computeFastMargins(
      model,
      tf.tensor4d(
        Float32Array.from(images, (v) => v / 255),
        [N, ...SHAPE],
      ),
      labels,
      params,
    );
    for (let i = 0; i < N; i++) expect(stored[i]).toBeCloseTo(direct.margins[i]!, 4);
    // Another method is another margin set.
    expect(started.marginSetId).not.toBe(margins.list().find((s) => s.method === 'deepfool')!.id);
  });

  it('puma margins --json prints the summary and --out writes the margins in dataset order', () => {
    const out = path.join(dir, 'm.npy');
    const cli = spawnSync(
      process.execPath,
      [
        'bin/puma.mjs',
        'margins',
        '--dataset',
        'toy',
        '--model',
        'toy-mlp',
        '--method',
        'deepfool',
        '--eps',
        '0.05',
        '--chunk-size',
        '4',
        '--out',
        out,
        '--json',
        '--db',
        path.join(dir, 'log.db'),
      ],
      { encoding: 'utf8', cwd: path.resolve(__dirname, '../..') },
    );
    expect(cli.stderr).toBe('');
    expect(cli.status).toBe(0);
    const printed = JSON.parse(cli.stdout.trim()) as Record<string, unknown>;
    expect(Object.keys(printed).sort()).toEqual(['count', 'fraction_below_eps', 'fraction_negative', 'margin_set_id', 'mean', 'quantiles'].sort());
    const file = readNpyFloat32(out);
    expect(file.shape).toEqual([N]);
    const stored = margins.read(printed.margin_set_id as number);
    expect(Array.from(file.data)).toEqual(Array.from(stored));
    expect(printed.fraction_negative).toBeCloseTo(stored.filter((m) => m < 0).length / N, 10);
    expect(printed.fraction_below_eps).toBeCloseTo(stored.filter((m) => m < 0.05).length / N, 10);
  });
});
