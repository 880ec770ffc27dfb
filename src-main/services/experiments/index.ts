/**
 * The experiment manager's service: sweeps (a grid of runs queued under one experiment), the
 * queue (order, retry, concurrency), the runs view's table, compare and export. The UI, the HTTP
 * server and `puma sweep` / `puma export` all go through here.
 */
import type { CompareData, ExperimentSummary, ExportedText, QueueState, RunTableRow, SweepPlan } from '../../../src-shared/api/ops/experiments';
import type { RunKind, RunStatus } from '../../../src-shared/domain/runs';
import type { TrainConfig } from '../../../src-shared/domain/training';
import { configDiff } from '../../../src-shared/method/config-diff';
import { expandArms } from '../../../src-shared/method/sweep';
import { metricInfo, TABLE_METRICS } from '../../../src-shared/domain/metrics';
import { formatGroupValue, getConfigValue, groupRuns, type GroupedTable, type RunRow } from '../../../src-shared/method/table';
import { ExperimentsRepo, lowerIsBetter } from '../../store/repos/experiments';
import type { PumaApp } from '../app';
import { exportMetrics, exportTable, type TableFormat } from '../export';
import { APP_VERSION, gitCommit } from '../system';
import type { TrainingService } from '../training/service';
import { collectProblems, validateConfig } from './presets';
import { BadRequest, Conflict } from '../../../src-shared/api/errors';

export interface SweepSpec {
  kind: RunKind;
  base: Record<string, unknown>;
  grid: Record<string, unknown[]>;
  /** Keys set together per arm, each arm × the grid (a template's PE+PD sets two ratios); none = one arm. */
  arms?: Array<Record<string, unknown>>;
}

export interface RunsTableFilter {
  experimentId?: number;
  kind?: RunKind;
  text?: string;
  where?: Record<string, string>;
  limit?: number;
}

export interface Selection {
  runIds?: number[];
  experimentId?: number;
}

/** The paper's numbers, shown by default where runs have them. */
export const DEFAULT_TABLE_METRICS = TABLE_METRICS;

/** Share of the pool a train run removed, from its result (pool_size, kept); null when it has none. */
export function prunedShare(result: unknown): number | null {
  const pruning = (result as { pruning?: { pool_size?: unknown; kept?: unknown } } | null)?.pruning;
  const pool = pruning?.pool_size;
  const kept = pruning?.kept;
  if (typeof pool !== 'number' || typeof kept !== 'number' || !(pool > 0) || !(kept >= 0 && kept <= pool)) return null;
  return 1 - kept / pool;
}

const EXTENSIONS: Record<TableFormat, { ext: string; mime: string }> = {
  csv: { ext: 'csv', mime: 'text/csv' },
  md: { ext: 'md', mime: 'text/markdown' },
  latex: { ext: 'tex', mime: 'application/x-tex' },
  json: { ext: 'json', mime: 'application/json' },
};

/** "strategy=pe seed=1": the grid values that tell the runs of a sweep apart. */
export function sweepRunName(experimentName: string, config: Record<string, unknown>, gridKeys: string[]): string {
  const parts = gridKeys.map((k) => `${k}=${formatGroupValue(getConfigValue(config, k))}`);
  return parts.length ? `${experimentName} · ${parts.join(' ')}` : experimentName;
}

/**
 * Metric values under their bare names too: a job logs "test/clean_acc", tables and the CLI say
 * "clean_acc". A bare name a run already has is kept as it is.
 */
export function withBareNames(values: Record<string, number>): Record<string, number> {
  const out = { ...values };
  for (const [key, value] of Object.entries(values)) {
    const bare = key.slice(key.lastIndexOf('/') + 1);
    if (bare && bare !== key && !(bare in values)) out[bare] = value;
  }
  return out;
}

/** A config value equals a filter's text: as text, or as numbers ("0.5" = 0.50, "8/255" = 0.0313…). */
export function configValueMatches(value: unknown, wanted: string): boolean {
  const text = formatGroupValue(value);
  if (text.toLowerCase() === wanted.trim().toLowerCase()) return true;
  const asNumber = (s: string): number => {
    const m = /^\s*(-?[\d.]+(?:e-?\d+)?)\s*\/\s*([\d.]+)\s*$/i.exec(s);
    return m ? Number(m[1]) / Number(m[2]) : s.trim() === '' ? NaN : Number(s);
  };
  const a = typeof value === 'number' ? value : asNumber(text);
  const b = asNumber(wanted);
  return Number.isFinite(a) && Number.isFinite(b) && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

/**
 * Splits the runs view's search text: `key=value` words are config filters, the other words must
 * all appear in the run's id, name, kind, status, tags or notes.
 */
export function parseRunQuery(text: string): { words: string[]; where: Record<string, string> } {
  const words: string[] = [];
  const where: Record<string, string> = {};
  for (const word of text.trim().split(/\s+/).filter(Boolean)) {
    const eq = word.indexOf('=');
    if (eq > 0) where[word.slice(0, eq)] = word.slice(eq + 1);
    else words.push(word.toLowerCase());
  }
  return { words, where };
}

export function runMatches(row: RunTableRow, words: string[], where: Record<string, string>): boolean {
  if (words.length) {
    const hay = `#${row.id} ${row.id} ${row.name} ${row.kind} ${row.status} ${row.tags} ${row.notes}`.toLowerCase();
    if (!words.every((w) => hay.includes(w))) return false;
  }
  for (const [key, wanted] of Object.entries(where)) {
    if (!configValueMatches(getConfigValue(row.config, key), wanted)) return false;
  }
  return true;
}

export class ExperimentService {
  readonly repo: ExperimentsRepo;

  constructor(
    private readonly app: Pick<PumaApp, 'db' | 'runs' | 'runner' | 'options' | 'emit'>,
    private readonly training: TrainingService,
  ) {
    this.repo = new ExperimentsRepo(app.db);
    // The saved concurrency applies unless the app was opened with an explicit one.
    if (app.options.concurrency === undefined) app.runner.setConcurrency(this.repo.queueSettings().concurrency, false);
  }

  /** Expands the grid over the base config and validates every run's config (defaults filled). */
  plan(spec: SweepSpec): SweepPlan {
    const raw = expandArms(spec.base, spec.arms ?? [{}], spec.grid);
    const configs: Array<Record<string, unknown>> = [];
    const problems: Array<Array<{ path: string; message: string }>> = [];
    for (const config of raw) {
      const v = validateConfig(spec.kind, config);
      if (v.ok) (configs.push(v.config), problems.push([]));
      else (configs.push(config), problems.push(v.problems));
    }
    return { count: configs.length, configs, problems: collectProblems(problems) };
  }

  /** Creates the experiment and queues one run per grid point; invalid configs create nothing. */
  async create(spec: SweepSpec & { name: string; description?: string; tags?: string }): Promise<{ experimentId: number; runIds: number[] }> {
    const plan = this.plan(spec);
    if (plan.problems.length) {
      const lines = plan.problems.map((p) => `${p.path || '(config)'}: ${p.message} (runs ${p.runs.map((i) => i + 1).join(', ')})`);
      throw new BadRequest(`Experiment '${spec.name}': invalid config — ${lines.join('; ')}`);
    }
    if (spec.kind === 'train') {
      // As `puma train` does: a system dataset (e.g. Fashion-MNIST) is imported the first time.
      for (const dataset of new Set(plan.configs.map((c) => c.dataset as string | number))) await this.training.ensureDataset(dataset);
      // margins files are read now, before any run of the sweep exists
      for (const c of plan.configs) this.training.checkMarginSet(c as unknown as TrainConfig);
    }
    const experimentId = this.repo.createExperiment(
      spec.name,
      spec.kind,
      { base: spec.base, grid: spec.grid, ...(spec.arms ? { arms: spec.arms } : {}) },
      spec.description ?? '',
    );
    // Run names show what tells the runs apart: arm keys whose values differ, grid keys with several values.
    const arms = spec.arms ?? [];
    const armKeys = [...new Set(arms.flatMap((a) => Object.keys(a)))].filter((k) => new Set(arms.map((a) => JSON.stringify(a[k]))).size > 1);
    const gridKeys = [...armKeys, ...Object.keys(spec.grid).filter((k) => spec.grid[k]!.length > 1)];
    const runIds = plan.configs.map((config) => {
      const seed = typeof config.seed === 'number' && Number.isInteger(config.seed) ? config.seed : undefined;
      const id = this.app.runs.create({
        kind: spec.kind,
        name: sweepRunName(spec.name, config, gridKeys),
        config,
        experimentId,
        seed: seed ?? null,
        appVersion: APP_VERSION,
        gitCommit: gitCommit(),
      });
      return id;
    });
    for (const id of runIds) {
      if (spec.tags) this.repo.setTagsNotes(id, { tags: spec.tags });
      this.app.emit('run.status', { runId: id, status: 'queued' });
    }
    this.app.runner.pump();
    return { experimentId, runIds };
  }

  listExperiments(): ExperimentSummary[] {
    return this.repo.listExperiments();
  }

  getExperiment(id: number): ExperimentSummary & { config: unknown; runIds: number[] } {
    const e = this.repo.getExperiment(id);
    const summary = this.repo.listExperiments().find((x) => x.id === id)!;
    return { ...summary, config: e.config, runIds: this.repo.runIdsOf(id) };
  }

  /** Runs with config, notes, queue place and best metrics; filtered by text and config values. */
  table(filter: RunsTableFilter = {}): RunTableRow[] {
    const summaries = this.app.runs.list({ kind: filter.kind, experimentId: filter.experimentId, limit: filter.limit ?? 100_000 });
    const extras = this.repo.extras(summaries.map((s) => s.id));
    const queue = this.repo.queuedIds();
    const place = new Map(queue.map((id, i) => [id, i + 1]));
    const rows: RunTableRow[] = summaries.map((s) => {
      const e = extras.get(s.id);
      return {
        ...s,
        latest: withBareNames(s.latest),
        config: (e?.config ?? {}) as Record<string, unknown>,
        notes: e?.notes ?? '',
        queue_index: place.get(s.id) ?? null,
        best: withBareNames(e?.best ?? {}),
      };
    });
    const query = parseRunQuery(filter.text ?? '');
    const where = { ...query.where, ...(filter.where ?? {}) };
    if (!query.words.length && !Object.keys(where).length) return rows;
    return rows.filter((r) => runMatches(r, query.words, where));
  }

  row(id: number): RunTableRow {
    const { result: _result, app_version: _v, git_commit: _c, ...s } = this.app.runs.get(id);
    const e = this.repo.extras([id]).get(id)!;
    const place = this.repo.queuedIds().indexOf(id);
    return {
      ...s,
      latest: withBareNames(s.latest),
      config: e.config as Record<string, unknown>,
      queue_index: place >= 0 ? place + 1 : null,
      best: withBareNames(e.best),
    };
  }

  update(id: number, patch: { tags?: string; notes?: string; name?: string }): RunTableRow {
    this.app.runs.get(id);
    this.repo.setTagsNotes(id, patch);
    return this.row(id);
  }

  /** Puts a stopped run back in the queue (at the end) and starts it when a slot is free. */
  retry(id: number): { id: number; status: RunStatus } {
    const run = this.app.runs.get(id);
    if (this.app.runner.isActive(id)) throw new Conflict(`Run ${id} is still running; cancel it before retrying.`);
    this.repo.requeue(id, run.status);
    this.app.emit('run.status', { runId: id, status: 'queued' });
    this.app.runner.pump();
    return { id, status: this.app.runs.get(id).status };
  }

  queue(): QueueState {
    return { order: this.repo.queuedIds(), running: this.repo.runningIds(), concurrency: this.app.runner.maxConcurrent };
  }

  reorder(order: number[]): QueueState {
    this.repo.reorderQueue(order);
    return this.queue();
  }

  move(id: number, delta: number): QueueState {
    this.repo.moveInQueue(id, delta);
    return this.queue();
  }

  setConcurrency(concurrency: number | undefined): QueueState {
    if (concurrency !== undefined) {
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
        throw new Error(`Queue settings: concurrency must be an integer from 1 to 64, got ${concurrency}.`);
      }
      this.repo.setQueueSettings({ ...this.repo.queueSettings(), concurrency });
      this.app.runner.setConcurrency(concurrency);
    }
    return this.queue();
  }

  /** The runs a selection names: the listed ids (each must exist) or every run of the experiment. */
  selectRunIds(sel: Selection, what = 'selection'): number[] {
    if (sel.runIds && sel.runIds.length) {
      for (const id of sel.runIds) this.app.runs.get(id);
      return sel.runIds;
    }
    if (sel.experimentId !== undefined) {
      this.repo.getExperiment(sel.experimentId);
      const ids = this.repo.runIdsOf(sel.experimentId);
      if (!ids.length) throw new BadRequest(`Experiment ${sel.experimentId} has no runs.`);
      return ids;
    }
    throw new Error(`The ${what} names no runs: give run ids or an experiment id.`);
  }

  /** Rows for grouping: config, last-epoch values (bare metric names included) and pruned share of each run. */
  tableRows(ids: number[]): RunRow[] {
    return ids.map((id) => {
      const r = this.app.runs.get(id);
      const config = (r.config ?? {}) as Record<string, unknown>;
      return { run_id: id, name: r.name, status: r.status, config, metrics: withBareNames(r.latest), pruned: prunedShare(r.result) };
    });
  }

  compareData(req: { runIds: number[]; keys?: string[]; maxPoints?: number; onlyChanged?: boolean }): CompareData {
    const ids = this.selectRunIds({ runIds: req.runIds }, 'comparison');
    const runs = ids.map((id) => this.row(id));
    const diff = configDiff(
      runs.map((r) => ({ run_id: r.id, config: r.config })),
      { onlyChanged: req.onlyChanged },
    );
    const byRun = this.repo.seriesFor(ids, req.maxPoints ?? 200, req.keys);
    const series = ids.map((id) => ({ runId: id, series: byRun.get(id) ?? [] }));
    const changed = configDiff(
      runs.map((r) => ({ run_id: r.id, config: r.config })),
      { onlyChanged: true },
    ).rows.map((r) => r.key);
    const present = new Set(runs.flatMap((r) => Object.keys(r.latest)));
    let metrics = DEFAULT_TABLE_METRICS.filter((m) => present.has(m));
    // Runs without the paper's numbers (a margins or perceptron run): their own final values, but never curve-only series.
    if (!metrics.length)
      metrics = [...present]
        .filter((m) => !metricInfo(m).known || metricInfo(m).table)
        .sort()
        .slice(0, 2);
    let table: GroupedTable | null = null;
    if (metrics.length) {
      const higherIsBetter = Object.fromEntries(metrics.map((m) => [m, !lowerIsBetter(m)]));
      table = groupRuns(
        this.tableRows(ids),
        changed.filter((k) => k !== 'seed'),
        metrics,
        { higherIsBetter, statuses: ['finished'] },
      );
    }
    return { runs, diff, series, table };
  }

  groupedTable(req: Selection & { groupBy: string[]; metrics: string[]; statuses?: string[] }): GroupedTable {
    const ids = this.selectRunIds(req, 'table');
    const higherIsBetter = Object.fromEntries(req.metrics.map((m) => [m, !lowerIsBetter(m)]));
    return groupRuns(this.tableRows(ids), req.groupBy, req.metrics, { higherIsBetter, statuses: req.statuses });
  }

  exportTable(
    req: Selection & { groupBy: string[]; metrics: string[]; format: TableFormat; statuses?: string[]; digits?: number; caption?: string; label?: string },
  ): ExportedText {
    const ids = this.selectRunIds(req, 'export');
    const higherIsBetter = Object.fromEntries(req.metrics.map((m) => [m, !lowerIsBetter(m)]));
    const rows = this.tableRows(ids);
    // A misspelt metric would give a column of "–": name it and what the runs do have.
    const present = new Set(rows.flatMap((r) => Object.keys(r.metrics)));
    const missing = req.metrics.filter((m) => !present.has(m));
    if (missing.length) {
      const offer = [...present].filter((m) => metricInfo(m).table && metricInfo(m).name === m).sort();
      throw new Error(
        `Export: no selected run has the metric${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')}; ` +
          (offer.length ? `these runs have ${offer.join(', ')}.` : 'these runs have no results-table metric yet (finished train runs do).'),
      );
    }
    const text = exportTable({
      rows,
      groupBy: req.groupBy,
      metrics: req.metrics,
      format: req.format,
      statuses: req.statuses,
      higherIsBetter,
      digits: req.digits,
      caption: req.caption,
      label: req.label,
    });
    const base = req.experimentId !== undefined && !req.runIds?.length ? `experiment-${req.experimentId}` : `runs-${ids.length}`;
    const { ext, mime } = EXTENSIONS[req.format];
    return { text, fileName: `${base}-table.${ext}`, mime };
  }

  exportMetrics(req: Selection & { format: 'csv' | 'json' }): ExportedText {
    const ids = this.selectRunIds(req, 'export');
    const text = exportMetrics({ series: this.repo.metricPoints(ids), format: req.format });
    const base = req.experimentId !== undefined && !req.runIds?.length ? `experiment-${req.experimentId}` : `runs-${ids.length}`;
    return { text, fileName: `${base}-metrics.${req.format}`, mime: req.format === 'csv' ? 'text/csv' : 'application/json' };
  }
}
