import type { Migration } from './types';

/**
 * Margin models (files under `storage_dir`), margin sets (one per dataset part × model × method ×
 * parameters) and their committed chunks. A margin job writes `margin_chunks` as each chunk
 * finishes, so a restarted job continues where the crash left it.
 */
export const migration0003: Migration = {
  version: 3,
  name: 'models-margins',
  up(db) {
    db.exec(`
      CREATE TABLE models (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        source TEXT NOT NULL,
        provenance_json TEXT NOT NULL,
        height INTEGER NOT NULL,
        width INTEGER NOT NULL,
        channels INTEGER NOT NULL,
        num_classes INTEGER NOT NULL,
        dropped_softmax INTEGER NOT NULL,
        hash TEXT NOT NULL,
        storage_dir TEXT NOT NULL,
        params INTEGER NOT NULL,
        accuracy_json TEXT,
        created_at TEXT NOT NULL
      );
      CREATE TABLE margin_sets (
        id INTEGER PRIMARY KEY,
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        split TEXT NOT NULL,
        model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        method TEXT NOT NULL,
        params_json TEXT NOT NULL,
        key TEXT NOT NULL UNIQUE,
        count INTEGER NOT NULL,
        chunk_size INTEGER NOT NULL,
        chunks_total INTEGER NOT NULL,
        status TEXT NOT NULL,
        file TEXT,
        summary_json TEXT,
        grad_evals_per_sample REAL,
        samples_per_second REAL,
        last_run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
        created_at TEXT NOT NULL,
        completed_at TEXT
      );
      CREATE INDEX margin_sets_dataset ON margin_sets(dataset_id);
      CREATE INDEX margin_sets_model ON margin_sets(model_id);
      CREATE TABLE margin_chunks (
        set_id INTEGER NOT NULL REFERENCES margin_sets(id) ON DELETE CASCADE,
        chunk_index INTEGER NOT NULL,
        offset INTEGER NOT NULL,
        count INTEGER NOT NULL,
        margins BLOB NOT NULL,
        grad_evals INTEGER NOT NULL,
        forward_evals INTEGER NOT NULL,
        converged INTEGER NOT NULL,
        seconds REAL NOT NULL,
        PRIMARY KEY (set_id, chunk_index)
      );
    `);
  },
};
