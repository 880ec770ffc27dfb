import { readFileSync } from 'node:fs';
import { logInfo, type Db } from '../db';
import type { MetricPoint, MetricSeries, RunDetail, RunKind, RunStatus, RunSummary } from '../../../src-shared/domain/runs';
import type { TrainingCheckpointRecord } from '../../../src-shared/domain/training';
import { NotFound } from '../../../src-shared/api/errors';

const now = (): string => new Date().toISOString();

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed job whose parent died too may linger as a zombie until something reaps it.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true; // no /proc (macOS, Windows): trust kill(0)
  }
}

interface RunRow {
  id: number;
  experiment_id: number | null;
  kind: RunKind;
  name: string;
  config_json: string;
  status: RunStatus;
  seed: number | null;
  backend: string | null;
  device: string | null;
  app_version: string;
  git_commit: string | null;
  pid: number | null;
  progress: number;
  progress_text: string;
  eta_seconds: number | null;
  result_json: string | null;
  error: string | null;
  tags: string;
  notes: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface NewRun {
  kind: RunKind;
  name?: string;
  config: unknown;
  experimentId?: number | null;
  seed?: number | null;
  appVersion: string;
  gitCommit?: string | null;
}

/** Runs, their metrics and the latest value per metric. The main process is the only writer of these tables (jobs report to it). */
export class RunsRepo {
  /**
   * Run ends the log could not take (disk full, I/O error), kept in memory so this process still
   * reports them (runs.get/list, waitFor); the next start marks such runs interrupted.
   */
  readonly unrecorded = new Map<number, { status: RunStatus; error: string }>();

  constructor(private readonly db: Db) {}

  /** Why the log is read-only (null: writable); the runner then starts nothing. */
  get readOnly(): string | null {
    return logInfo(this.db).readOnly;
  }

  createExperiment(name: string, kind: string, config: unknown): number {
    const r = this.db
      .prepare('INSERT INTO experiments (name, kind, config_json, created_at) VALUES (?, ?, ?, ?)')
      .run(name, kind, JSON.stringify(config ?? {}), now());
    return Number(r.lastInsertRowid);
  }

  create(run: NewRun): number {
    const r = this.db
      .prepare(
        `INSERT INTO runs (experiment_id, kind, name, config_json, status, seed, app_version, git_commit, created_at)
         VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?)`,
      )
      .run(run.experimentId ?? null, run.kind, run.name ?? '', JSON.stringify(run.config), run.seed ?? null, run.appVersion, run.gitCommit ?? null, now());
    return Number(r.lastInsertRowid);
  }

  private row(id: number): RunRow | undefined {
    return this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
  }

  exists(id: number): boolean {
    return this.row(id) !== undefined;
  }

  get(id: number): RunDetail {
    const row = this.row(id);
    if (!row) throw new NotFound(`Run ${id} does not exist in the experiment log.`);
    return {
      ...this.summary(row, this.latestFor([id]).get(id) ?? {}),
      config: JSON.parse(row.config_json),
      result: row.result_json ? JSON.parse(row.result_json) : null,
      app_version: row.app_version,
      git_commit: row.git_commit,
      notes: row.notes,
    };
  }

  list(filter: { kind?: RunKind; experimentId?: number; limit?: number } = {}): RunSummary[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.kind) (where.push('kind = ?'), args.push(filter.kind));
    if (filter.experimentId) (where.push('experiment_id = ?'), args.push(filter.experimentId));
    const sql = `SELECT * FROM runs ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, filter.limit ?? 10_000) as RunRow[];
    const latest = this.latestFor(rows.map((r) => r.id));
    return rows.map((r) => this.summary(r, latest.get(r.id) ?? {}));
  }

  private latestFor(ids: number[]): Map<number, Record<string, number>> {
    const out = new Map<number, Record<string, number>>();
    if (ids.length === 0) return out;
    // One query for the whole page of runs rather than one per run.
    const rows = this.db
      .prepare(`SELECT run_id, key, value FROM latest_metrics WHERE run_id IN (SELECT value FROM json_each(?))`)
      .all(JSON.stringify(ids)) as Array<{ run_id: number; key: string; value: number }>;
    for (const r of rows) {
      let m = out.get(r.run_id);
      if (!m) out.set(r.run_id, (m = {}));
      m[r.key] = r.value;
    }
    return out;
  }

  private summary(r: RunRow, latest: Record<string, number>): RunSummary {
    const lost = this.unrecorded.get(r.id);
    if (lost) r = { ...r, status: lost.status, error: lost.error, pid: null };
    return {
      id: r.id,
      experiment_id: r.experiment_id,
      kind: r.kind,
      name: r.name,
      status: r.status,
      seed: r.seed,
      backend: r.backend,
      device: r.device,
      progress: r.progress,
      progress_text: r.progress_text,
      eta_seconds: r.eta_seconds,
      error: r.error,
      tags: r.tags,
      created_at: r.created_at,
      started_at: r.started_at,
      finished_at: r.finished_at,
      latest,
    };
  }

  nextQueued(): RunRow | undefined {
    // Queue order: an explicit position (set by reordering, migration 0005) else the id.
    return this.db.prepare(`SELECT * FROM runs WHERE status = 'queued' ORDER BY COALESCE(queue_position, id), id LIMIT 1`).get() as RunRow | undefined;
  }

  /**
   * Takes a queued run for this process: only one of several app instances (the window and a
   * CLI, say) sharing the log can win it, so no run is started twice.
   */
  claimQueued(id: number): boolean {
    return (
      this.db.prepare(`UPDATE runs SET status = 'running', pid = NULL, started_at = ?, error = NULL WHERE id = ? AND status = 'queued'`).run(now(), id)
        .changes === 1
    );
  }

  markRunning(id: number, pid: number | null): void {
    this.db.prepare(`UPDATE runs SET status = 'running', pid = ?, started_at = COALESCE(started_at, ?), error = NULL WHERE id = ?`).run(pid, now(), id);
  }

  setEnvironment(id: number, backend: string, device: string): void {
    this.db.prepare('UPDATE runs SET backend = ?, device = ? WHERE id = ?').run(backend, device, id);
  }

  setProgress(id: number, progress: number, text: string, etaSeconds: number | null): void {
    this.db.prepare('UPDATE runs SET progress = ?, progress_text = ?, eta_seconds = ? WHERE id = ?').run(progress, text, etaSeconds, id);
  }

  setResult(id: number, result: unknown): void {
    this.db.prepare('UPDATE runs SET result_json = ? WHERE id = ?').run(JSON.stringify(result), id);
  }

  finish(id: number, status: RunStatus, error: string | null = null): void {
    this.db
      .prepare(
        `UPDATE runs SET status = ?, error = ?, pid = NULL, finished_at = ?,
           progress = CASE WHEN ? = 'finished' THEN 1 ELSE progress END, eta_seconds = NULL WHERE id = ?`,
      )
      .run(status, error, now(), status, id);
    this.unrecorded.delete(id);
  }

  setStatus(id: number, status: RunStatus): void {
    this.db.prepare('UPDATE runs SET status = ? WHERE id = ?').run(status, id);
    this.unrecorded.delete(id);
  }

  /**
   * Re-queues a stopped run that continues from a checkpoint (`cutoff` gives, per metric key,
   * the last step the checkpoint covers; null keeps the key's points). The points its stopped
   * attempt logged past the checkpoint would be logged again by the resumed job, so they go, in
   * the same transaction; latest and best values are recomputed from what stays.
   */
  requeueFromCheckpoint(id: number, cutoff: (key: string) => number | null): number {
    const keys = (this.db.prepare('SELECT DISTINCT key FROM metrics WHERE run_id = ?').all(id) as Array<{ key: string }>).map((r) => r.key);
    const drop = this.db.prepare('DELETE FROM metrics WHERE run_id = ? AND key = ? AND step > ?');
    let dropped = 0;
    this.db.transaction(() => {
      for (const key of keys) {
        const last = cutoff(key);
        if (last !== null) dropped += drop.run(id, key, last).changes;
      }
      if (dropped > 0) {
        this.db.prepare('DELETE FROM latest_metrics WHERE run_id = ?').run(id);
        this.db
          .prepare(
            `INSERT INTO latest_metrics (run_id, key, step, value, time)
             SELECT run_id, key, step, value, time FROM metrics m WHERE run_id = ?
               AND rowid = (SELECT rowid FROM metrics WHERE run_id = m.run_id AND key = m.key ORDER BY step DESC, rowid DESC LIMIT 1)`,
          )
          .run(id);
        // The delete trigger dropped the best values of the keys it touched.
        this.db
          .prepare(
            `INSERT OR REPLACE INTO best_metrics (run_id, key, max_value, min_value)
             SELECT run_id, key, MAX(value), MIN(value) FROM metrics WHERE run_id = ? GROUP BY run_id, key`,
          )
          .run(id);
      }
      this.db.prepare(`UPDATE runs SET status = 'queued' WHERE id = ?`).run(id);
    })();
    this.unrecorded.delete(id);
    return dropped;
  }

  /**
   * At start-up no job of ours is alive, so a run still marked running lost its worker (a crash,
   * a kill, a power cut): it is interrupted, not running.
   */
  markOrphansInterrupted(isAlive: (pid: number) => boolean = processAlive): number {
    const running = this.db.prepare(`SELECT id, pid FROM runs WHERE status = 'running'`).all() as Array<{ id: number; pid: number | null }>;
    // A job whose process still lives belongs to another app instance on the same log (a CLI
    // export while the window trains, say): leave it alone.
    const orphans = running.filter((r) => r.pid === null || !isAlive(r.pid));
    const mark = this.db.prepare(
      `UPDATE runs SET status = 'interrupted', pid = NULL, finished_at = ?,
         error = COALESCE(error, 'The job stopped without finishing (the app or its worker process ended).')
       WHERE id = ? AND status = 'running'`,
    );
    const t = now();
    this.db.transaction(() => orphans.forEach((r) => mark.run(t, r.id)))();
    return orphans.length;
  }

  /** Appends metric points in one transaction and keeps latest_metrics current. */
  addMetrics(runId: number, points: MetricPoint[]): void {
    if (points.length === 0) return;
    const t = now();
    const ins = this.db.prepare('INSERT INTO metrics (run_id, key, step, value, time) VALUES (?, ?, ?, ?, ?)');
    const latest = this.db.prepare(
      `INSERT INTO latest_metrics (run_id, key, step, value, time) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(run_id, key) DO UPDATE SET step = excluded.step, value = excluded.value, time = excluded.time
       WHERE excluded.step >= latest_metrics.step`,
    );
    this.db.transaction(() => {
      for (const p of points) {
        ins.run(runId, p.key, p.step, p.value, t);
        latest.run(runId, p.key, p.step, p.value, t);
      }
    })();
  }

  /** A train run's checkpoint row and the metrics of the same epoch, in one transaction. */
  recordCheckpoint(runId: number, checkpoint: TrainingCheckpointRecord, points: MetricPoint[] = []): void {
    const ins = this.db.prepare(
      `INSERT OR REPLACE INTO training_checkpoints (run_id, global_step, epoch, batch_in_epoch, path, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.db.transaction(() => {
      this.addMetrics(runId, points);
      ins.run(runId, checkpoint.globalStep, checkpoint.epoch, checkpoint.batchInEpoch, checkpoint.path, now());
    })();
  }

  /** Checkpoints of a train run, oldest first. */
  checkpoints(runId: number): Array<TrainingCheckpointRecord & { createdAt: string }> {
    return this.db
      .prepare(
        `SELECT global_step AS globalStep, epoch, batch_in_epoch AS batchInEpoch, path, created_at AS createdAt
         FROM training_checkpoints WHERE run_id = ? ORDER BY global_step`,
      )
      .all(runId) as Array<TrainingCheckpointRecord & { createdAt: string }>;
  }

  /**
   * Metric series of a run; with maxPoints, long series are down-sampled in SQL (every n-th
   * step, the last point always kept) so plots stay fast.
   */
  metrics(runId: number, keys?: string[], maxPoints?: number): MetricSeries[] {
    const keyRows = (
      keys && keys.length ? keys.map((key) => ({ key })) : this.db.prepare('SELECT DISTINCT key FROM metrics WHERE run_id = ? ORDER BY key').all(runId)
    ) as Array<{ key: string }>;
    const count = this.db.prepare('SELECT COUNT(*) AS n FROM metrics WHERE run_id = ? AND key = ?');
    const all = this.db.prepare('SELECT step, value FROM metrics WHERE run_id = ? AND key = ? ORDER BY step');
    const thinned = this.db.prepare(
      `SELECT step, value FROM (
         SELECT step, value, ROW_NUMBER() OVER (ORDER BY step) - 1 AS rn, COUNT(*) OVER () AS n
         FROM metrics WHERE run_id = ? AND key = ?)
       WHERE rn % ? = 0 OR rn = n - 1 ORDER BY step`,
    );
    return keyRows.map(({ key }) => {
      const n = (count.get(runId, key) as { n: number }).n;
      const points =
        maxPoints && n > maxPoints
          ? (thinned.all(runId, key, Math.ceil(n / maxPoints)) as Array<{ step: number; value: number }>)
          : (all.all(runId, key) as Array<{ step: number; value: number }>);
      return { key, points };
    });
  }
}
