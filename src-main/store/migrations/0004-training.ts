import type { Migration } from './types';

/** Checkpoints of train runs (one row per saved checkpoint; the files live under <dataDir>/runs/<id>/). */
export const TRAINING_CHECKPOINTS_DDL = `
  CREATE TABLE IF NOT EXISTS training_checkpoints (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    global_step INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    batch_in_epoch INTEGER NOT NULL,
    path TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (run_id, global_step)
  );
`;

export const migration0004: Migration = {
  version: 4,
  name: 'training',
  up(db) {
    db.exec(TRAINING_CHECKPOINTS_DDL);
  },
};
