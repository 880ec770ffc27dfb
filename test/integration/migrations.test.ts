/**
 * Each migration from a log at the version before it, with data in it: the data survives and the
 * new schema works. (0006 is tested the same way in run-artifacts.test.ts.) Also: the migration
 * list runs 1, 2, 3, … and a job's connection (migrate: false) upgrades nothing.
 */
import Database from 'better-sqlite3';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LogError } from '../../src-shared/api/errors';
import { migrate, openDatabase, schemaVersion, type Db } from '../../src-main/store/db';
import { assertInOrder, migrations, NEWEST_VERSION } from '../../src-main/store/migrations';
import { ExperimentsRepo } from '../../src-main/store/repos/experiments';
import { RunsRepo } from '../../src-main/store/repos/runs';
import { tempDir } from '../helpers/tmp';

const now = '2026-01-01T00:00:00.000Z';
let cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups) c();
  cleanups = [];
});

/** A log file at schema `version` (every migration up to it, none after), filled by `fill`. */
function logAt(version: number, fill: (db: Db) => void): string {
  const t = tempDir('puma-migrations-');
  cleanups.push(t.cleanup);
  const file = path.join(t.dir, 'log.db');
  const db = new Database(file);
  db.pragma('foreign_keys = ON');
  migrate(db, version);
  expect(schemaVersion(db)).toBe(version);
  fill(db);
  db.close();
  return file;
}

/** Opens the log as the app does: every pending migration runs. */
function upgraded(file: string): Db {
  const db = openDatabase(file);
  cleanups.unshift(() => db.close());
  expect(schemaVersion(db)).toBe(NEWEST_VERSION);
  return db;
}

const insertRun = (db: Db, id: number, kind = 'train') =>
  db
    .prepare(`INSERT INTO runs (id, kind, name, config_json, status, app_version, created_at) VALUES (?, ?, 'r', '{"epochs":2}', 'finished', 't', ?)`)
    .run(id, kind, now);
const insertDataset = (db: Db, id: number) =>
  db
    .prepare(
      `INSERT INTO datasets (id, name, format, source_path, hash, storage_dir, height, width, channels, classes_json, splits_json, created_at) VALUES (?, ?, 'idx', '/x', 'h', '/s', 2, 2, 1, '["a","b"]', '{}', ?)`,
    )
    .run(id, `d${id}`, now);
const insertModel = (db: Db, id: number) =>
  db
    .prepare(
      `INSERT INTO models (id, name, source, provenance_json, height, width, channels, num_classes, dropped_softmax, hash, storage_dir, params, created_at) VALUES (?, ?, 'imported', '{}', 2, 2, 1, 2, 0, 'mh', '/m', 10, ?)`,
    )
    .run(id, `m${id}`, now);

describe('the migration list', () => {
  it('runs 1, 2, 3, … with no gap or repeat, and refuses a list that does not', () => {
    expect(migrations.map((m) => m.version)).toEqual(Array.from({ length: migrations.length }, (_, i) => i + 1));
    expect(NEWEST_VERSION).toBe(migrations.length);
    const [a, b, c] = migrations as [(typeof migrations)[0], (typeof migrations)[0], (typeof migrations)[0]];
    expect(() => assertInOrder([a, c, b])).toThrow(/entry 2 is version 3 \(models-margins\)/);
    expect(() => assertInOrder([a, a])).toThrow(/entry 2 is version 1/);
  });
});

describe('each migration from the version before, with data', () => {
  it('0002 datasets: a version-1 log keeps its runs and metrics and takes datasets', () => {
    const file = logAt(1, (db) => {
      insertRun(db, 3);
      db.prepare(`INSERT INTO metrics (run_id, key, step, value, time) VALUES (3, 'loss', 1, 0.5, ?)`).run(now);
    });
    const db = upgraded(file);
    expect(new RunsRepo(db).get(3)).toMatchObject({ id: 3, kind: 'train', config: { epochs: 2 }, status: 'finished' });
    expect(new RunsRepo(db).metrics(3, ['loss'])[0]!.points.map((p) => p.value)).toEqual([0.5]);
    insertDataset(db, 1);
    expect(db.prepare('SELECT name FROM datasets').all()).toEqual([{ name: 'd1' }]);
  });

  it('0003 models + margins: a version-2 log keeps its datasets and takes models, margin sets and chunks', () => {
    const file = logAt(2, (db) => insertDataset(db, 4));
    const db = upgraded(file);
    expect(db.prepare('SELECT id, name, classes_json FROM datasets').all()).toEqual([{ id: 4, name: 'd4', classes_json: '["a","b"]' }]);
    insertModel(db, 2);
    db.prepare(
      `INSERT INTO margin_sets (id, dataset_id, split, model_id, method, params_json, key, count, chunk_size, chunks_total, status, created_at) VALUES (1, 4, 'train', 2, 'fast', '{}', 'k', 4, 4, 1, 'pending', ?)`,
    ).run(now);
    // the set belongs to its dataset: deleting the dataset deletes it
    db.prepare('DELETE FROM datasets WHERE id = 4').run();
    expect(db.prepare('SELECT COUNT(*) AS n FROM margin_sets').get()).toEqual({ n: 0 });
  });

  it('0004 training: a version-3 log keeps its models and margin sets and takes checkpoints', () => {
    const file = logAt(3, (db) => {
      insertRun(db, 5);
      insertDataset(db, 1);
      insertModel(db, 2);
      db.prepare(
        `INSERT INTO margin_sets (id, dataset_id, split, model_id, method, params_json, key, count, chunk_size, chunks_total, status, created_at) VALUES (6, 1, 'train', 2, 'deepfool', '{}', 'k6', 4, 4, 1, 'complete', ?)`,
      ).run(now);
    });
    const db = upgraded(file);
    expect(db.prepare('SELECT id, key, status FROM margin_sets').all()).toEqual([{ id: 6, key: 'k6', status: 'complete' }]);
    const runs = new RunsRepo(db);
    runs.recordCheckpoint(5, { globalStep: 10, epoch: 1, batchInEpoch: 0, path: '/c/10' }, [{ key: 'train/loss', step: 10, value: 0.7 }]);
    expect(runs.checkpoints(5)).toMatchObject([{ globalStep: 10, epoch: 1, batchInEpoch: 0, path: '/c/10' }]);
  });

  it('0005 experiments: a version-4 log keeps its metrics, and their best values are filled in from them', () => {
    const file = logAt(4, (db) => {
      db.prepare(`INSERT INTO experiments (id, name, kind, config_json, created_at) VALUES (1, 'sweep', 'train', '{}', ?)`).run(now);
      insertRun(db, 8);
      db.prepare('UPDATE runs SET experiment_id = 1 WHERE id = 8').run();
      for (const [step, value] of [
        [1, 0.2],
        [2, 0.6],
        [3, 0.4],
      ] as const) {
        db.prepare(`INSERT INTO metrics (run_id, key, step, value, time) VALUES (8, 'test/clean_acc', ?, ?, ?)`).run(step, value, now);
      }
    });
    const db = upgraded(file);
    expect(db.prepare('SELECT key, max_value, min_value FROM best_metrics WHERE run_id = 8').all()).toEqual([
      { key: 'test/clean_acc', max_value: 0.6, min_value: 0.2 },
    ]);
    const experiments = new ExperimentsRepo(db);
    expect(experiments.getExperiment(1)).toMatchObject({ id: 1, name: 'sweep', description: '' });
    // the trigger keeps the best values from now on
    new RunsRepo(db).addMetrics(8, [{ key: 'test/clean_acc', step: 4, value: 0.9 }]);
    expect(db.prepare('SELECT max_value FROM best_metrics WHERE run_id = 8').get()).toEqual({ max_value: 0.9 });
  });

  it('0007 checkpoints everywhere: a version-6 log that never got the checkpoints table gets it; one that has it keeps its rows', () => {
    const without = logAt(6, (db) => {
      insertRun(db, 2);
      // as a log that passed version 4 before 0004 existed in the code
      db.exec('DROP TABLE training_checkpoints');
    });
    const db = upgraded(without);
    expect(new RunsRepo(db).checkpoints(2)).toEqual([]);
    new RunsRepo(db).recordCheckpoint(2, { globalStep: 5, epoch: 0, batchInEpoch: 5, path: '/c/5' });
    expect(new RunsRepo(db).checkpoints(2)).toMatchObject([{ globalStep: 5 }]);

    const withRows = logAt(6, (old) => {
      insertRun(old, 2);
      old.prepare(`INSERT INTO training_checkpoints (run_id, global_step, epoch, batch_in_epoch, path, created_at) VALUES (2, 7, 1, 3, '/c/7', ?)`).run(now);
    });
    expect(new RunsRepo(upgraded(withRows)).checkpoints(2)).toMatchObject([{ globalStep: 7, epoch: 1, batchInEpoch: 3, path: '/c/7' }]);
  });
});

describe("a job's connection (migrate: false)", () => {
  it('opens a log at the newest version and writes to it', () => {
    const file = logAt(NEWEST_VERSION, (db) => insertRun(db, 1));
    const db = openDatabase(file, { migrate: false });
    try {
      new RunsRepo(db).addMetrics(1, [{ key: 'loss', step: 1, value: 1 }]);
      expect(new RunsRepo(db).get(1).latest).toEqual({ loss: 1 });
    } finally {
      db.close();
    }
  });

  it('refuses an older log clearly and leaves it at its version', () => {
    const file = logAt(NEWEST_VERSION - 1, (db) => insertRun(db, 1));
    let err: unknown;
    try {
      openDatabase(file, { migrate: false });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LogError);
    expect((err as Error).message).toBe(
      `experiment log ${file}: has schema version ${NEWEST_VERSION - 1}, older than this job's ${NEWEST_VERSION}; the job does not upgrade it — restart PUMA Lab (or run any \`puma\` command on this log) so the log is upgraded, then start the run again`,
    );
    const raw = new Database(file, { readonly: true });
    expect(schemaVersion(raw)).toBe(NEWEST_VERSION - 1);
    raw.close();
  });

  it('refuses a newer log and a missing one', () => {
    const file = logAt(NEWEST_VERSION, (db) => db.pragma(`user_version = ${NEWEST_VERSION + 1}`));
    expect(() => openDatabase(file, { migrate: false })).toThrow(/newer than this job's .* update PUMA Lab/);
    const missing = path.join(path.dirname(file), 'none.db');
    expect(() => openDatabase(missing, { migrate: false })).toThrow(/none\.db: does not exist/);
  });
});
