import type { Db } from '../db';
import { higherIsBetter } from '../../../src-shared/domain/metrics';
import type { RunStatus } from '../../../src-shared/domain/runs';
import { BadRequest, Conflict, NotFound } from '../../../src-shared/api/errors';

const now = (): string => new Date().toISOString();

export interface ExperimentRow {
  id: number;
  name: string;
  kind: string;
  description: string;
  config: unknown;
  created_at: string;
}

/** The queue's settings: how many runs may run at once on this machine. */
export interface QueueSettings {
  concurrency: number;
}

export const DEFAULT_QUEUE_SETTINGS: QueueSettings = { concurrency: 1 };

/** Per run: config, tags, notes and the best value per metric (max; min for losses and errors). */
export interface RunExtras {
  config: unknown;
  tags: string;
  notes: string;
  queue_position: number;
  best: Record<string, number>;
}

/** Lower is better for losses and errors; higher for everything else (accuracies): domain/metrics decides. */
export const lowerIsBetter = (metric: string): boolean => !higherIsBetter(metric);

/**
 * The experiment manager's part of the log: experiments, queue order, tags and notes, best
 * metrics per run and app settings (migration 0005). Runs themselves live in RunsRepo.
 */
export class ExperimentsRepo {
  constructor(private readonly db: Db) {}

  createExperiment(name: string, kind: string, config: unknown, description = ''): number {
    const r = this.db
      .prepare('INSERT INTO experiments (name, kind, config_json, description, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(name, kind, JSON.stringify(config ?? {}), description, now());
    return Number(r.lastInsertRowid);
  }

  getExperiment(id: number): ExperimentRow {
    const row = this.db.prepare('SELECT * FROM experiments WHERE id = ?').get(id) as (Omit<ExperimentRow, 'config'> & { config_json: string }) | undefined;
    if (!row) throw new NotFound(`Experiment ${id} does not exist in the experiment log.`);
    const { config_json, ...rest } = row;
    return { ...rest, config: JSON.parse(config_json) };
  }

  listExperiments(): Array<Omit<ExperimentRow, 'config'> & { run_count: number; statuses: Record<string, number> }> {
    const rows = this.db.prepare('SELECT id, name, kind, description, created_at FROM experiments ORDER BY id DESC').all() as Array<
      Omit<ExperimentRow, 'config'>
    >;
    const counts = this.db
      .prepare('SELECT experiment_id AS id, status, COUNT(*) AS n FROM runs WHERE experiment_id IS NOT NULL GROUP BY experiment_id, status')
      .all() as Array<{ id: number; status: string; n: number }>;
    const byId = new Map<number, Record<string, number>>();
    for (const c of counts) {
      const m = byId.get(c.id) ?? {};
      m[c.status] = c.n;
      byId.set(c.id, m);
    }
    return rows.map((r) => {
      const statuses = byId.get(r.id) ?? {};
      return { ...r, statuses, run_count: Object.values(statuses).reduce((a, b) => a + b, 0) };
    });
  }

  runIdsOf(experimentId: number): number[] {
    return (this.db.prepare('SELECT id FROM runs WHERE experiment_id = ? ORDER BY id').all(experimentId) as Array<{ id: number }>).map((r) => r.id);
  }

  /** Queued runs in the order they will start. */
  queuedIds(): number[] {
    return (this.db.prepare(`SELECT id FROM runs WHERE status = 'queued' ORDER BY COALESCE(queue_position, id), id`).all() as Array<{ id: number }>).map(
      (r) => r.id,
    );
  }

  /**
   * Puts the listed queued runs in this order, in the slots they held before (so runs queued
   * later still come after them); queued runs not listed keep their slots.
   */
  reorderQueue(order: number[]): number[] {
    const queued = this.queuedIds();
    const queuedSet = new Set(queued);
    const seen = new Set<number>();
    for (const id of order) {
      if (!queuedSet.has(id)) throw new Conflict(`Run ${id} is not queued, so it cannot be reordered.`);
      if (seen.has(id)) throw new BadRequest(`Run ${id} is listed twice in the new queue order.`);
      seen.add(id);
    }
    const keys = this.db
      .prepare(`SELECT id, COALESCE(queue_position, id) AS k FROM runs WHERE id IN (SELECT value FROM json_each(?))`)
      .all(JSON.stringify(order)) as Array<{ id: number; k: number }>;
    const slots = keys.map((r) => r.k).sort((a, b) => a - b);
    // Distinct slots even where two runs shared one (a tie broken by id).
    for (let i = 1; i < slots.length; i++) if (slots[i]! <= slots[i - 1]!) slots[i] = slots[i - 1]! + 1e-6;
    const set = this.db.prepare('UPDATE runs SET queue_position = ? WHERE id = ?');
    this.db.transaction(() => order.forEach((id, i) => set.run(slots[i], id)))();
    return this.queuedIds();
  }

  /** Moves a queued run `delta` places (negative: earlier) in the queue. */
  moveInQueue(id: number, delta: number): number[] {
    const queued = this.queuedIds();
    const from = queued.indexOf(id);
    if (from < 0) throw new Conflict(`Run ${id} is not queued, so it cannot be moved.`);
    const to = Math.max(0, Math.min(queued.length - 1, from + delta));
    if (to === from) return queued;
    queued.splice(from, 1);
    queued.splice(to, 0, id);
    return this.reorderQueue(queued);
  }

  /**
   * A finished, failed, cancelled or interrupted run goes back to the end of the queue with its
   * config; its metrics, result and error are cleared so the retry starts clean.
   */
  requeue(id: number, status: RunStatus): void {
    if (status === 'queued' || status === 'running') throw new Conflict(`Run ${id} is ${status}; only a stopped run can be retried.`);
    const last = this.db.prepare(`SELECT MAX(k) AS k FROM (SELECT COALESCE(queue_position, id) AS k FROM runs UNION ALL SELECT MAX(id) FROM runs)`).get() as {
      k: number | null;
    };
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM metrics WHERE run_id = ?').run(id);
      this.db.prepare('DELETE FROM latest_metrics WHERE run_id = ?').run(id);
      this.db
        .prepare(
          `UPDATE runs SET status = 'queued', progress = 0, progress_text = '', eta_seconds = NULL, result_json = NULL,
             error = NULL, pid = NULL, started_at = NULL, finished_at = NULL, backend = NULL, device = NULL,
             queue_position = ? WHERE id = ?`,
        )
        .run((last.k ?? 0) + 1, id);
    })();
  }

  setTagsNotes(id: number, patch: { tags?: string; notes?: string; name?: string }): void {
    if (patch.tags !== undefined) this.db.prepare('UPDATE runs SET tags = ? WHERE id = ?').run(normaliseTags(patch.tags), id);
    if (patch.notes !== undefined) this.db.prepare('UPDATE runs SET notes = ? WHERE id = ?').run(patch.notes, id);
    if (patch.name !== undefined) this.db.prepare('UPDATE runs SET name = ? WHERE id = ?').run(patch.name, id);
  }

  /** Config, tags, notes, queue slot and best metric values of many runs in three queries. */
  extras(ids: number[]): Map<number, RunExtras> {
    const out = new Map<number, RunExtras>();
    if (ids.length === 0) return out;
    const json = JSON.stringify(ids);
    const rows = this.db
      .prepare(`SELECT id, config_json, tags, notes, COALESCE(queue_position, id) AS qp FROM runs WHERE id IN (SELECT value FROM json_each(?))`)
      .all(json) as Array<{ id: number; config_json: string; tags: string; notes: string; qp: number }>;
    for (const r of rows) out.set(r.id, { config: JSON.parse(r.config_json), tags: r.tags, notes: r.notes, queue_position: r.qp, best: {} });
    const best = this.db
      .prepare(
        `SELECT run_id, key, max_value AS hi, min_value AS lo FROM best_metrics
         WHERE run_id IN (SELECT value FROM json_each(?))`,
      )
      .all(json) as Array<{ run_id: number; key: string; hi: number; lo: number }>;
    for (const b of best) {
      const e = out.get(b.run_id);
      if (e) e.best[b.key] = lowerIsBetter(b.key) ? b.lo : b.hi;
    }
    return out;
  }

  /**
   * Metric series of many runs in one query, each series down-sampled in SQL to about
   * `maxPoints` (every n-th step, the last point always kept), as RunsRepo.metrics does per run.
   */
  seriesFor(ids: number[], maxPoints: number, keys?: string[]): Map<number, Array<{ key: string; points: Array<{ step: number; value: number }> }>> {
    const rows = this.db
      .prepare(
        `SELECT run_id, key, step, value FROM (
           SELECT run_id, key, step, value,
             ROW_NUMBER() OVER (PARTITION BY run_id, key ORDER BY step) - 1 AS rn,
             COUNT(*) OVER (PARTITION BY run_id, key) AS n
           FROM metrics
           WHERE run_id IN (SELECT value FROM json_each(@ids))
             AND (@keys IS NULL OR key IN (SELECT value FROM json_each(@keys))))
         WHERE n <= @max OR rn % ((n + @max - 1) / @max) = 0 OR rn = n - 1
         ORDER BY run_id, key, step`,
      )
      .all({ ids: JSON.stringify(ids), keys: keys && keys.length ? JSON.stringify(keys) : null, max: maxPoints }) as Array<{
      run_id: number;
      key: string;
      step: number;
      value: number;
    }>;
    const out = new Map<number, Array<{ key: string; points: Array<{ step: number; value: number }> }>>();
    for (const id of ids) out.set(id, []);
    let current: { key: string; points: Array<{ step: number; value: number }> } | null = null;
    let currentRun = -1;
    for (const r of rows) {
      if (!current || r.run_id !== currentRun || r.key !== current.key) {
        current = { key: r.key, points: [] };
        currentRun = r.run_id;
        out.get(r.run_id)?.push(current);
      }
      current.points.push({ step: r.step, value: r.value });
    }
    return out;
  }

  /** Runs now running, oldest start first. */
  runningIds(): number[] {
    return (this.db.prepare(`SELECT id FROM runs WHERE status = 'running' ORDER BY started_at, id`).all() as Array<{ id: number }>).map((r) => r.id);
  }

  /** Every stored point of the runs (raw export). */
  metricPoints(ids: number[]): Array<{ run_id: number; key: string; step: number; value: number; time: string }> {
    return this.db
      .prepare(
        `SELECT run_id, key, step, value, time FROM metrics WHERE run_id IN (SELECT value FROM json_each(?))
         ORDER BY run_id, key, step`,
      )
      .all(JSON.stringify(ids)) as Array<{ run_id: number; key: string; step: number; value: number; time: string }>;
  }

  queueSettings(): QueueSettings {
    const row = this.db.prepare(`SELECT value_json FROM settings WHERE key = 'queue'`).get() as { value_json: string } | undefined;
    return { ...DEFAULT_QUEUE_SETTINGS, ...(row ? (JSON.parse(row.value_json) as Partial<QueueSettings>) : {}) };
  }

  setQueueSettings(settings: QueueSettings): void {
    this.db
      .prepare(`INSERT INTO settings (key, value_json) VALUES ('queue', ?) ON CONFLICT(key) DO UPDATE SET value_json = excluded.value_json`)
      .run(JSON.stringify(settings));
  }
}

/** "a, b ,,a" → "a,b": trimmed, no empties, no duplicates. */
export function normaliseTags(text: string): string {
  return [
    ...new Set(
      text
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    ),
  ].join(',');
}
