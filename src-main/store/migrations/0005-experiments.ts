import type { Migration } from './types';

/**
 * The experiment manager: a queue position per run (reordering; NULL means "in order of id"),
 * a description per experiment, app settings (e.g. how many runs may run at once) and the best
 * value per run and metric.
 */
export const migration0005: Migration = {
  version: 5,
  name: 'experiments',
  up(db) {
    db.exec(`
      ALTER TABLE runs ADD COLUMN queue_position REAL;
      ALTER TABLE experiments ADD COLUMN description TEXT NOT NULL DEFAULT '';
      CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value_json TEXT NOT NULL
      );
      -- Best (highest and lowest) value per run and metric, kept by a trigger so the runs view
      -- does not aggregate every stored point on each refresh.
      CREATE TABLE best_metrics (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        max_value REAL NOT NULL,
        min_value REAL NOT NULL,
        PRIMARY KEY (run_id, key)
      );
      INSERT INTO best_metrics (run_id, key, max_value, min_value)
        SELECT run_id, key, MAX(value), MIN(value) FROM metrics GROUP BY run_id, key;
      CREATE TRIGGER metrics_best AFTER INSERT ON metrics BEGIN
        INSERT INTO best_metrics (run_id, key, max_value, min_value) VALUES (NEW.run_id, NEW.key, NEW.value, NEW.value)
        ON CONFLICT(run_id, key) DO UPDATE SET
          max_value = MAX(max_value, excluded.max_value), min_value = MIN(min_value, excluded.min_value);
      END;
      CREATE TRIGGER metrics_best_delete AFTER DELETE ON metrics BEGIN
        DELETE FROM best_metrics WHERE run_id = OLD.run_id AND key = OLD.key;
      END;
    `);
  },
};
