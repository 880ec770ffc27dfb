import type { Db } from '../db';
import type { SplitName } from '../../../src-shared/domain/datasets';
import type { MarginMethod, MarginParams, MarginSetInfo, MarginSetSummary } from '../../../src-shared/domain/margins';

interface MarginSetRow {
  id: number;
  dataset_id: number;
  split: string;
  model_id: number;
  method: string;
  params_json: string;
  key: string;
  count: number;
  chunk_size: number;
  chunks_total: number;
  status: string;
  file: string | null;
  summary_json: string | null;
  grad_evals_per_sample: number | null;
  samples_per_second: number | null;
  last_run_id: number | null;
  run_id: number | null;
  subset: number | null;
  generated_id: number | null;
  created_at: string;
  completed_at: string | null;
  chunks_done: number;
  run_kind: string | null;
  train_runs: number;
}

/** What creating a margin set needs: its identity and chunking (the rest is progress). */
export type NewMarginSet = Pick<MarginSetInfo, 'datasetId' | 'split' | 'modelId' | 'method' | 'params' | 'key' | 'count' | 'chunkSize'>;

/** A set a train run computed in its own job (whole, not chunked) and reports when done. */
export type RunMarginSet = Pick<MarginSetInfo, 'datasetId' | 'split' | 'modelId' | 'method' | 'params' | 'key' | 'count' | 'subset' | 'generatedId'> & {
  runId: number;
  file: string;
  summary: MarginSetSummary;
};

export interface MarginChunkRow {
  chunkIndex: number;
  offset: number;
  count: number;
  margins: Float32Array;
  gradEvals: number;
  forwardEvals: number;
  converged: number;
  seconds: number;
}

const SELECT = `SELECT s.*, (SELECT COUNT(*) FROM margin_chunks c WHERE c.set_id = s.id) AS chunks_done, (SELECT r.kind FROM runs r WHERE r.id = s.run_id) AS run_kind,
  (SELECT COUNT(*) FROM runs u WHERE u.kind = 'train' AND u.result_json IS NOT NULL AND json_extract(u.result_json, '$.margin_set_id') = s.id) AS train_runs FROM margin_sets s`;

function fromRow(r: MarginSetRow): MarginSetInfo {
  return {
    id: r.id,
    datasetId: r.dataset_id,
    split: r.split as SplitName,
    modelId: r.model_id,
    method: r.method as MarginMethod,
    params: JSON.parse(r.params_json) as MarginParams,
    key: r.key,
    count: r.count,
    chunkSize: r.chunk_size,
    chunksDone: r.chunks_done,
    chunksTotal: r.chunks_total,
    status: r.status as MarginSetInfo['status'],
    file: r.file,
    summary: r.summary_json ? (JSON.parse(r.summary_json) as MarginSetSummary) : null,
    gradEvalsPerSample: r.grad_evals_per_sample,
    samplesPerSecond: r.samples_per_second,
    lastRunId: r.last_run_id,
    runId: r.run_id,
    runKind: r.run_kind as MarginSetInfo['runKind'],
    trainRuns: r.train_runs,
    subset: r.subset,
    generatedId: r.generated_id,
    createdAt: r.created_at,
    completedAt: r.completed_at,
  };
}

/**
 * `margin_sets` and `margin_chunks`. The main process creates sets; a margin job (own connection)
 * commits chunks and completes its set.
 */
export class MarginsRepo {
  constructor(private readonly db: Db) {}

  create(s: NewMarginSet): number {
    const info = this.db
      .prepare(
        `INSERT INTO margin_sets (dataset_id, split, model_id, method, params_json, key, count, chunk_size, chunks_total, status, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)`,
      )
      .run(
        s.datasetId,
        s.split,
        s.modelId,
        s.method,
        JSON.stringify(s.params),
        s.key,
        s.count,
        s.chunkSize,
        Math.ceil(s.count / s.chunkSize),
        new Date().toISOString(),
      );
    return Number(info.lastInsertRowid);
  }

  /** Records a complete set made by a train run (no chunks: the job computed it in one piece). */
  createFromRun(s: RunMarginSet): number {
    const now = new Date().toISOString();
    const info = this.db
      .prepare(
        `INSERT INTO margin_sets (dataset_id, split, model_id, method, params_json, key, count, chunk_size, chunks_total, status, file, summary_json, run_id, subset, generated_id, created_at, completed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 'complete', ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        s.datasetId,
        s.split,
        s.modelId,
        s.method,
        JSON.stringify(s.params),
        s.key,
        s.count,
        s.count,
        s.file,
        JSON.stringify(s.summary),
        s.runId,
        s.subset,
        s.generatedId,
        now,
        now,
      );
    return Number(info.lastInsertRowid);
  }

  /** The complete set whose margins are this file, if any (a run given `margin_set: FILE.npy`). */
  getByFile(file: string): MarginSetInfo | undefined {
    const row = this.db.prepare(`${SELECT} WHERE s.file = ? AND s.status = 'complete' ORDER BY s.id LIMIT 1`).get(file) as MarginSetRow | undefined;
    return row && fromRow(row);
  }

  get(id: number): MarginSetInfo | undefined {
    const row = this.db.prepare(`${SELECT} WHERE s.id = ?`).get(id) as MarginSetRow | undefined;
    return row && fromRow(row);
  }

  getByKey(key: string): MarginSetInfo | undefined {
    const row = this.db.prepare(`${SELECT} WHERE s.key = ?`).get(key) as MarginSetRow | undefined;
    return row && fromRow(row);
  }

  list(filter: { datasetId?: number; modelId?: number } = {}): MarginSetInfo[] {
    const where: string[] = [];
    const args: number[] = [];
    if (filter.datasetId !== undefined) (where.push('s.dataset_id = ?'), args.push(filter.datasetId));
    if (filter.modelId !== undefined) (where.push('s.model_id = ?'), args.push(filter.modelId));
    const sql = `${SELECT}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY s.id DESC`;
    return (this.db.prepare(sql).all(...args) as MarginSetRow[]).map(fromRow);
  }

  setLastRun(id: number, runId: number): void {
    // The first job that computes a set made it; later ones (resumes) only continue it.
    this.db.prepare('UPDATE margin_sets SET last_run_id = ?, run_id = COALESCE(run_id, ?) WHERE id = ?').run(runId, runId, id);
  }

  /** Indices of the chunks already committed. */
  doneChunks(setId: number): Set<number> {
    const rows = this.db.prepare('SELECT chunk_index FROM margin_chunks WHERE set_id = ?').all(setId) as Array<{ chunk_index: number }>;
    return new Set(rows.map((r) => r.chunk_index));
  }

  commitChunk(setId: number, c: MarginChunkRow): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO margin_chunks (set_id, chunk_index, offset, count, margins, grad_evals, forward_evals, converged, seconds)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        setId,
        c.chunkIndex,
        c.offset,
        c.count,
        Buffer.from(c.margins.buffer, c.margins.byteOffset, c.margins.byteLength),
        c.gradEvals,
        c.forwardEvals,
        c.converged,
        c.seconds,
      );
  }

  /** Every committed chunk in order; margins copied out of the row buffers (aligned). */
  chunks(setId: number): MarginChunkRow[] {
    const rows = this.db.prepare('SELECT * FROM margin_chunks WHERE set_id = ? ORDER BY chunk_index').all(setId) as Array<{
      chunk_index: number;
      offset: number;
      count: number;
      margins: Buffer;
      grad_evals: number;
      forward_evals: number;
      converged: number;
      seconds: number;
    }>;
    return rows.map((r) => {
      const margins = new Float32Array(r.count);
      new Uint8Array(margins.buffer).set(r.margins.subarray(0, r.count * 4));
      return {
        chunkIndex: r.chunk_index,
        offset: r.offset,
        count: r.count,
        margins,
        gradEvals: r.grad_evals,
        forwardEvals: r.forward_evals,
        converged: r.converged,
        seconds: r.seconds,
      };
    });
  }

  complete(id: number, done: { file: string; summary: MarginSetSummary; gradEvalsPerSample: number; samplesPerSecond: number | null }): void {
    this.db
      .prepare(
        `UPDATE margin_sets SET status = 'complete', file = ?, summary_json = ?, grad_evals_per_sample = ?, samples_per_second = ?, completed_at = ? WHERE id = ?`,
      )
      .run(done.file, JSON.stringify(done.summary), done.gradEvalsPerSample, done.samplesPerSecond, new Date().toISOString(), id);
  }

  /** Train runs that trained with this set (their result names it), newest first. */
  trainRunsUsing(id: number): number[] {
    const rows = this.db
      .prepare(`SELECT id FROM runs WHERE kind = 'train' AND result_json IS NOT NULL AND json_extract(result_json, '$.margin_set_id') = ? ORDER BY id DESC`)
      .all(id) as Array<{ id: number }>;
    return rows.map((r) => r.id);
  }

  remove(id: number): void {
    this.db.prepare('DELETE FROM margin_sets WHERE id = ?').run(id);
  }
}
