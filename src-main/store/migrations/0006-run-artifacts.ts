import type { Migration } from './types';

/**
 * Margin sets made by a train run: `run_id` is the run that computed the set (a margins job, or a
 * PUMA/PE/PD train run), and a train run's set covers its pool — the first `subset` samples of
 * the split (NULL: all of them) followed by every sample of the generated set `generated_id`.
 * Existing sets were all made by margin jobs, whose run is `last_run_id`.
 */
export const migration0006: Migration = {
  version: 6,
  name: 'run-artifacts',
  up(db) {
    db.exec(`
      ALTER TABLE margin_sets ADD COLUMN run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL;
      ALTER TABLE margin_sets ADD COLUMN subset INTEGER;
      ALTER TABLE margin_sets ADD COLUMN generated_id INTEGER REFERENCES datasets(id) ON DELETE CASCADE;
      UPDATE margin_sets SET run_id = last_run_id WHERE last_run_id IS NOT NULL;
      CREATE INDEX margin_sets_run ON margin_sets(run_id);
    `);
  },
};
