/**
 * A PUMA run's margin model and margin set in the log: migration 0006 from a version-5 log with
 * data, registration by the main process (ids in the run's result, no duplicates when a second run
 * reuses the cached margins), and the selection op recomputing exactly what the job trained on.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MarginParams, type MarginSelection, type MarginSetInfo } from '../../src-shared/domain/margins';
import type { ModelInfo } from '../../src-shared/domain/models';
import type { TrainRunResult } from '../../src-shared/domain/training';
import { readNpyFloat32 } from '../../src-main/engine/margins';
import { forkJobLauncher } from '../../src-main/jobs/fork-launcher';
import { PumaApp } from '../../src-main/services/app';
import { DatasetService } from '../../src-main/services/datasets';
import { recordRunArtifacts } from '../../src-main/services/training/artifacts';
import { openDatabase, schemaVersion } from '../../src-main/store/db';
import { migrations, NEWEST_VERSION } from '../../src-main/store/migrations';
import { MarginsRepo } from '../../src-main/store/repos/margins';
import { modelOfRun } from '../helpers/model-runs';
import { tempDir } from '../helpers/tmp';
import { idxFile, write } from '../unit/datasets/writers';

describe('migration 0006', () => {
  it('adds run_id / subset / generated_id to a version-5 log and keeps its margin sets, chunks and runs', () => {
    const t = tempDir('puma-mig6-');
    try {
      const file = path.join(t.dir, 'log.db');
      // A log as version 5 left it, with one margin job's set and a committed chunk.
      const old = new Database(file);
      for (const m of migrations.filter((x) => x.version <= 5).sort((a, b) => a.version - b.version)) old.transaction(() => m.up(old))();
      old.pragma('user_version = 5');
      const now = new Date().toISOString();
      old
        .prepare(`INSERT INTO runs (id, kind, name, config_json, status, app_version, created_at) VALUES (7, 'margins', 'm', '{}', 'finished', 't', ?)`)
        .run(now);
      old
        .prepare(
          `INSERT INTO datasets (id, name, format, source_path, hash, storage_dir, height, width, channels, classes_json, splits_json, created_at) VALUES (1, 'd', 'idx', '/x', 'h', '/s', 2, 2, 1, '["a","b"]', '{}', ?)`,
        )
        .run(now);
      old
        .prepare(
          `INSERT INTO models (id, name, source, provenance_json, height, width, channels, num_classes, dropped_softmax, hash, storage_dir, params, created_at) VALUES (3, 'mm', 'imported', '{}', 2, 2, 1, 2, 0, 'mh', '/m', 10, ?)`,
        )
        .run(now);
      old
        .prepare(
          `INSERT INTO margin_sets (id, dataset_id, split, model_id, method, params_json, key, count, chunk_size, chunks_total, status, last_run_id, created_at) VALUES (5, 1, 'train', 3, 'fast', '{"norm":"linf"}', 'k5', 4, 4, 1, 'pending', 7, ?)`,
        )
        .run(now);
      old.prepare(`INSERT INTO margin_chunks VALUES (5, 0, 0, 4, ?, 8, 4, 4, 0.5)`).run(Buffer.from(new Float32Array([0.1, -0.2, 0.3, 0.4]).buffer));
      old.close();

      const db = openDatabase(file);
      expect(schemaVersion(db)).toBe(NEWEST_VERSION);
      const repo = new MarginsRepo(db);
      const set = repo.get(5)!;
      // The margin job that computed it is the run that made it.
      expect(set).toMatchObject({ runId: 7, runKind: 'margins', lastRunId: 7, subset: null, generatedId: null, chunksDone: 1, count: 4, key: 'k5' });
      expect(Array.from(repo.chunks(5)[0]!.margins)).toEqual([0.1, -0.2, 0.3, 0.4].map(Math.fround));
      // A run deleted later leaves the set without a maker, not without its margins.
      db.prepare('DELETE FROM runs WHERE id = 7').run();
      expect(repo.get(5)).toMatchObject({ runId: null, runKind: null, chunksDone: 1, trainRuns: 0 });
      db.close();
    } finally {
      t.cleanup();
    }
  });
});

describe('recordRunArtifacts', () => {
  it('leaves the log as it was when a registration fails (a dataset gone), and answers null ids', () => {
    const t = tempDir('puma-artifacts-fail-');
    try {
      const db = openDatabase(path.join(t.dir, 'log.db'));
      const runId = Number(
        db.prepare(`INSERT INTO runs (kind, config_json, status, app_version, created_at) VALUES ('train', '{}', 'running', 't', 'now')`).run().lastInsertRowid,
      );
      const summary = { count: 2, mean: 0, quantiles: { p01: 0, p10: 0, p50: 0, p90: 0, p99: 0 }, fraction_negative: 0, fraction_below_eps: 0 };
      const ids = recordRunArtifacts(db, runId, {
        marginModel: {
          name: 'm',
          source: 'trained',
          provenance: { runId, role: 'margin_model' },
          inputShape: [2, 2, 1],
          numClasses: 2,
          droppedSoftmax: false,
          hash: 'h',
          storageDir: '/x',
          params: 3,
          accuracy: null,
        },
        marginSet: {
          key: 'k',
          datasetId: 42,
          split: 'train',
          method: 'fast',
          params: MarginParams.parse({}),
          count: 2,
          subset: null,
          generatedId: null,
          file: '/x.npy',
          summary,
        },
        marginSetFile: null,
      });
      expect(ids).toEqual({ margin_model_id: null, margin_set_id: null });
      // The model row of the failed transaction was rolled back with it.
      expect((db.prepare('SELECT COUNT(*) AS n FROM models').get() as { n: number }).n).toBe(0);
      expect((db.prepare('SELECT COUNT(*) AS n FROM margin_sets').get() as { n: number }).n).toBe(0);
      db.close();
    } finally {
      t.cleanup();
    }
  });
});

// A toy dataset the mlp learns in one epoch: class k = brightest third of the image.
const TRAIN = 240;
const TEST = 60;
let dir: string;
let cleanup: () => void;
let app: PumaApp;

beforeAll(async () => {
  await tf.setBackend('cpu');
  ({ dir, cleanup } = tempDir('puma-run-artifacts-'));
  const n = TRAIN + TEST;
  const images = new Uint8Array(n * 36);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const k = i % 3;
    // One label in ten is wrong: those get negative margins (anti-adversarial ε_i).
    labels.push(i % 10 === 0 ? (k + 1) % 3 : k);
    for (let p = 0; p < 36; p++) images[i * 36 + p] = Math.floor(p / 12) === k ? 150 + ((i * 5 + p) % 100) : 30 + ((i * 7 + p * 13) % 90);
  }
  const src = path.join(dir, 'toy-idx');
  write(src, 'train-images-idx3-ubyte', idxFile([TRAIN, 6, 6], images.subarray(0, TRAIN * 36)));
  write(src, 'train-labels-idx1-ubyte', idxFile([TRAIN], Uint8Array.from(labels.slice(0, TRAIN))));
  write(src, 't10k-images-idx3-ubyte', idxFile([TEST, 6, 6], images.subarray(TRAIN * 36)));
  write(src, 't10k-labels-idx1-ubyte', idxFile([TEST], Uint8Array.from(labels.slice(TRAIN))));
  app = new PumaApp({ dbPath: path.join(dir, 'log.db'), launcher: forkJobLauncher(), mode: 'browser' });
  await new DatasetService(app.db, app.dataDir).importDataset({ path: src, name: 'toy', classNames: ['top', 'middle', 'bottom'] });
});

afterAll(() => {
  app?.close();
  cleanup?.();
});

const SUBSET = 200;
const base = {
  dataset: 'toy',
  arch: 'mlp',
  width: 16,
  depth: 1,
  method: 'pgd_at',
  eps: 0.1,
  attack_steps: 1,
  batch_size: 40,
  epochs: 1,
  margin_model_epochs: 2,
  margin_method: 'fast',
  train_subset: SUBSET,
  eval_subset: 60,
  eval_attack_steps: 1,
  backend: 'cpu',
  workers: 1,
  lr: 0.05,
};

async function train(over: Record<string, unknown>): Promise<{ runId: number; result: TrainRunResult }> {
  const { runId } = await app.training.start({ ...base, ...over }, `puma ${JSON.stringify(over)}`);
  const status = await app.runner.waitFor(runId);
  expect(status, app.runs.get(runId).error ?? '').toBe('finished');
  return { runId, result: app.runs.get(runId).result as TrainRunResult };
}

describe("a PUMA run's margin model and margin set", () => {
  let first: { runId: number; result: TrainRunResult };

  it('are registered in the log with the run, and their ids are in its result', async () => {
    first = await train({ strategy: 'puma', prune_ratio: 0.25 });
    const { margin_model_id: modelId, margin_set_id: setId } = first.result;
    expect(modelId).toEqual(expect.any(Number));
    expect(setId).toEqual(expect.any(Number));
    const model = ((await app.dispatch('models.list', {})) as ModelInfo[]).find((m) => m.id === modelId)!;
    expect(model).toMatchObject({
      source: 'trained',
      inputShape: [6, 6, 1],
      numClasses: 3,
      provenance: { runId: first.runId, role: 'margin_model', architecture: 'mlp' },
    });
    expect(model.accuracy!.clean).toBeGreaterThanOrEqual(0);
    expect(fs.existsSync(path.join(model.storageDir, 'model.json'))).toBe(true);
    const set = (await app.dispatch('margins.get', { id: setId! })) as MarginSetInfo;
    expect(set).toMatchObject({
      modelId,
      runId: first.runId,
      runKind: 'train',
      status: 'complete',
      count: SUBSET,
      subset: SUBSET,
      generatedId: null,
      method: 'fast',
      split: 'train',
    });
    // The set's file is the margins the run pruned with.
    expect(readNpyFloat32(set.file!).data.length).toBe(SUBSET);
    expect(first.result.margins!.path).toBe(set.file);
    // A PUMA run's own final model is not mistaken for the margin model it trained.
    const final = await modelOfRun(app, ((await app.dispatch('models.addTrainRun', { runId: first.runId })) as { runId: number }).runId);
    expect(final.id).not.toBe(modelId);
    expect(final.provenance.role).toBeUndefined();
  }, 180_000);

  it('is reused, not duplicated, by a run with the same margin model settings', async () => {
    const second = await train({ strategy: 'puma', prune_ratio: 0.5 });
    expect(second.result.margins!.source).toBe('cache');
    expect(second.result.margin_set_id).toBe(first.result.margin_set_id);
    expect(second.result.margin_model_id).toBe(first.result.margin_model_id);
    const sets = (await app.dispatch('margins.list', {})) as MarginSetInfo[];
    expect(sets).toHaveLength(1);
    expect(sets[0]!.trainRuns).toBe(2);
    expect(((await app.dispatch('models.list', {})) as ModelInfo[]).filter((m) => m.provenance.role === 'margin_model')).toHaveLength(1);

    // The selection of each run, recomputed from its config: exact counts.
    const setId = first.result.margin_set_id!;
    const margins = readNpyFloat32(sets[0]!.file!).data;
    for (const [run, ratio] of [
      [first, 0.25],
      [second, 0.5],
    ] as const) {
      const sel = (await app.dispatch('margins.selection', { id: setId, runId: run.runId, count: 8 })) as MarginSelection;
      const pruned = Math.round(ratio * SUBSET);
      expect(sel).toMatchObject({ runId: run.runId, poolSize: SUBSET, kept: SUBSET - pruned, pruned, strategy: 'puma', eq2Eps: 0.1, matchesRun: true });
      expect(sel.kept).toBe(run.result.pruning!.kept);
      // The job counted the same anti-adversarial samples and mean ε_i.
      expect(sel.antiAdversarial).toBe(run.result.pruning!.anti_adversarial);
      expect(sel.meanRadius).toBeCloseTo(run.result.pruning!.mean_radius!, 5);
      expect(sel.marginHistogram.kept.reduce((a, b) => a + b, 0)).toBe(SUBSET - pruned);
      expect(sel.marginHistogram.pruned.reduce((a, b) => a + b, 0)).toBe(pruned);
      expect(sel.radiusHistogram!.counts.reduce((a, b) => a + b, 0)).toBe(SUBSET - pruned);
      // PUMA prunes the highest margins.
      const sorted = Array.from(margins).sort((a, b) => b - a);
      expect(Math.min(...sel.galleries.pruned.map((i) => i.margin))).toBeGreaterThanOrEqual(sorted[pruned - 1]!);
      expect(Math.max(...sel.galleries.kept.map((i) => i.margin))).toBeLessThanOrEqual(sorted[pruned]!);
      // Anti-adversarial: kept samples with ε_i < 0, each ε_i = clip(margin, −ε, ε).
      const negativeKept = Array.from(margins).filter((m) => m < 0).length;
      expect(sel.antiAdversarial).toBe(negativeKept);
      expect(negativeKept).toBeGreaterThan(0);
      for (const item of sel.galleries.antiAdversarial) expect(item.radius).toBeCloseTo(Math.max(-0.1, item.margin), 6);
      for (const item of sel.galleries.kept) expect(item.radius).toBeCloseTo(Math.min(0.1, Math.max(-0.1, item.margin)), 6);
      for (const item of sel.galleries.pruned) expect(item.radius).toBeNull();
      expect(sel.galleries.pruned).toHaveLength(8);
      expect(sel.galleries.antiAdversarial).toHaveLength(Math.min(8, negativeKept));
      // True classes from the dataset, predicted by the margin model.
      expect(sel.predictedBy?.modelId).toBe(first.result.margin_model_id);
      for (const item of [...sel.galleries.pruned, ...sel.galleries.kept]) {
        expect(item.image).toHaveLength(36);
        expect([0, 1, 2]).toContain(item.label);
        expect([0, 1, 2]).toContain(item.predicted);
      }
      expect(sel.usedBy).toEqual([second.runId, first.runId]);
    }
    // Without a run: the run that made the set.
    expect(((await app.dispatch('margins.selection', { id: setId })) as MarginSelection).runId).toBe(first.runId);
  }, 240_000);

  it("references the margin set a run names by file, and registers a margin_model run's final model once", async () => {
    const set = (await app.dispatch('margins.get', { id: first.result.margin_set_id! })) as MarginSetInfo;
    const byFile = await train({ strategy: 'puma', prune_ratio: 0.1, margin_set: set.file });
    expect(byFile.result).toMatchObject({ margin_set_id: set.id, margin_model_id: set.modelId });
    const sel = (await app.dispatch('margins.selection', { id: set.id, runId: byFile.runId })) as MarginSelection;
    expect(sel).toMatchObject({ kept: SUBSET - Math.round(0.1 * SUBSET), matchesRun: true });

    // PE by margin uses the same set (no radii: every kept sample trains at ε).
    const pe = await train({ strategy: 'pe', score: 'margin', prune_ratio: 0.2 });
    expect(pe.result.margin_set_id).toBe(set.id);
    const peSel = (await app.dispatch('margins.selection', { id: set.id, runId: pe.runId })) as MarginSelection;
    expect(peSel).toMatchObject({
      strategy: 'pe',
      kept: SUBSET - 40,
      pruned: 40,
      antiAdversarial: 0,
      meanRadius: null,
      radiusHistogram: null,
      eq2Eps: null,
      matchesRun: true,
    });
    expect(peSel.galleries.antiAdversarial).toEqual([]);

    // margin_model = an earlier run: its final model, registered by `models add-run` above, is referenced, not copied.
    const finals = ((await app.dispatch('models.list', {})) as ModelInfo[]).filter(
      (m) => m.provenance.runId === first.runId && m.provenance.role !== 'margin_model',
    );
    expect(finals).toHaveLength(1);
    const fromModel = await train({ strategy: 'puma', prune_ratio: 0.2, margin_model: first.runId });
    const model = ((await app.dispatch('models.list', {})) as ModelInfo[]).find((m) => m.id === fromModel.result.margin_model_id)!;
    expect(model.id).toBe(finals[0]!.id);
    expect(model.name).toBe(`mlp (run ${first.runId})`);
    const newSet = (await app.dispatch('margins.get', { id: fromModel.result.margin_set_id! })) as MarginSetInfo;
    expect(newSet).toMatchObject({ runId: fromModel.runId, modelId: model.id, count: SUBSET });
    expect((await modelOfRun(app, ((await app.dispatch('models.addTrainRun', { runId: first.runId })) as { runId: number }).runId)).id).toBe(model.id);
  }, 180_000);

  it('keeps the ids across a cancel and a resume', async () => {
    const training = app.training;
    const { runId } = await training.start({ ...base, strategy: 'puma', prune_ratio: 0.3, epochs: 6 }, 'cancel then resume');
    // Cancelled once its ids are in the result (the cached margins make that quick), mid-training.
    for (let i = 0; i < 600 && (app.runs.get(runId).result as TrainRunResult | null)?.margin_set_id == null; i++) await new Promise((r) => setTimeout(r, 50));
    app.runner.cancel(runId);
    expect(await app.runner.waitFor(runId)).toBe('cancelled');
    const stopped = app.runs.get(runId).result as TrainRunResult;
    expect(stopped).toMatchObject({ margin_set_id: first.result.margin_set_id, margin_model_id: first.result.margin_model_id });
    training.resume(runId);
    expect(await app.runner.waitFor(runId)).toBe('finished');
    expect(app.runs.get(runId).result).toMatchObject({
      status: 'finished',
      margin_set_id: first.result.margin_set_id,
      margin_model_id: first.result.margin_model_id,
    });
  }, 180_000);

  it('leaves both ids null for a strategy that needs no margins, and rejects a selection of a set no train run used', async () => {
    const plain = await train({ strategy: 'random', prune_ratio: 0.2 });
    expect(plain.result.margin_model_id).toBeNull();
    expect(plain.result.margin_set_id).toBeNull();
    await expect(app.dispatch('margins.selection', { id: first.result.margin_set_id!, runId: plain.runId })).rejects.toThrow(
      /strategy random\) selects no samples by margin/,
    );
    await expect(app.dispatch('margins.selection', { id: 999 })).rejects.toThrow(/No margin set with id 999/);
    // Without the margin model's files the selection still comes, without predicted classes, saying why.
    const model = ((await app.dispatch('models.list', {})) as ModelInfo[]).find((m) => m.id === first.result.margin_model_id)!;
    fs.renameSync(model.storageDir, `${model.storageDir}.away`);
    try {
      const sel = (await app.dispatch('margins.selection', { id: first.result.margin_set_id!, runId: first.runId })) as MarginSelection;
      expect(sel.predictedBy).toBeNull();
      expect(sel.predictionNote).toMatch(/No predicted classes: margin model #\d+ could not be loaded/);
      expect(sel.predictionNote).not.toContain(dir);
      expect(sel.galleries.kept.every((i) => i.predicted === null)).toBe(true);
      expect(sel.kept).toBe(first.result.pruning!.kept);
    } finally {
      fs.renameSync(`${model.storageDir}.away`, model.storageDir);
    }
  }, 120_000);
});
