import type { Migration } from './types';

/** Imported datasets: one row per manifest; the uint8 content lives in `storage_dir`. */
export const migration0002: Migration = {
  version: 2,
  name: 'datasets',
  up(db) {
    db.exec(`
      CREATE TABLE datasets (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        format TEXT NOT NULL,
        source_path TEXT NOT NULL,
        hash TEXT NOT NULL,
        storage_dir TEXT NOT NULL,
        height INTEGER NOT NULL,
        width INTEGER NOT NULL,
        channels INTEGER NOT NULL,
        classes_json TEXT NOT NULL,
        splits_json TEXT NOT NULL,
        generated_for INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
        created_at TEXT NOT NULL
      );
      CREATE INDEX datasets_hash ON datasets(hash);
      CREATE INDEX datasets_generated_for ON datasets(generated_for);
    `);
  },
};
