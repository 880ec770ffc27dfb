import type { Migration } from './types';

/** Experiments, runs, metrics and the latest value of each metric per run (for fast run lists). */
export const migration0001: Migration = {
  version: 1,
  name: 'core',
  up(db) {
    db.exec(`
      CREATE TABLE experiments (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        config_json TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL
      );
      CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        experiment_id INTEGER REFERENCES experiments(id) ON DELETE SET NULL,
        kind TEXT NOT NULL,
        name TEXT NOT NULL DEFAULT '',
        config_json TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued','running','finished','failed','cancelled','interrupted')),
        seed INTEGER,
        backend TEXT,
        device TEXT,
        app_version TEXT NOT NULL,
        git_commit TEXT,
        pid INTEGER,
        progress REAL NOT NULL DEFAULT 0,
        progress_text TEXT NOT NULL DEFAULT '',
        eta_seconds REAL,
        result_json TEXT,
        error TEXT,
        tags TEXT NOT NULL DEFAULT '',
        notes TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT
      );
      CREATE INDEX runs_status ON runs(status);
      CREATE INDEX runs_experiment ON runs(experiment_id);
      CREATE TABLE metrics (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        step INTEGER NOT NULL,
        value REAL NOT NULL,
        time TEXT NOT NULL
      );
      CREATE INDEX metrics_run_key_step ON metrics(run_id, key, step);
      CREATE TABLE latest_metrics (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        step INTEGER NOT NULL,
        value REAL NOT NULL,
        time TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
      );
    `);
  },
};
