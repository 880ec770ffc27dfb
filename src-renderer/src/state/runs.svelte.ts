import type { ExperimentSummary, QueueState, RunTableRow } from '../../../src-shared/api/ops/experiments';
import type { MetricSeries } from '../../../src-shared/domain/runs';
import { metricInfo, TABLE_METRICS } from '../../../src-shared/domain/metrics';
import { client } from '../api/client';

/** Metrics shown as columns when runs have them: the paper's three numbers (domain/metrics) first. */
const PREFERRED_METRICS = TABLE_METRICS;
const MAX_METRIC_COLUMNS = 3;

/**
 * The runs view: every run with its status, queue place and key metrics, filtered by text
 * (words, and key=value for config values) and by experiment; the selected run's live curves.
 * Kept fresh by the main process's events, coalesced so a busy queue is one request per 300 ms.
 */
export class RunsState {
  runs = $state.raw<RunTableRow[]>([]);
  experiments = $state.raw<ExperimentSummary[]>([]);
  queue = $state.raw<QueueState>({ order: [], running: [], concurrency: 1 });
  text = $state('');
  experimentId = $state<number | null>(null);
  selected = $state<number[]>([]);
  focused = $state<number | null>(null);
  focusedSeries = $state.raw<MetricSeries[]>([]);
  error = $state<string | null>(null);
  loaded = $state(false);
  /** Milliseconds the last refresh took from request to data (for the scale benchmark). */
  lastLoadMs = $state(0);

  metricColumns = $derived.by(() => {
    const seen = new Set<string>();
    for (const r of this.runs) for (const k of Object.keys(r.latest)) seen.add(k);
    const preferred = PREFERRED_METRICS.filter((k) => seen.has(k));
    // A stored key ("test/clean_acc") is also in latest under its bare name: one column.
    const rest = [...seen].filter((k) => !preferred.includes(k) && !(metricInfo(k).known && metricInfo(k).name !== k)).sort();
    return [...preferred, ...rest].slice(0, MAX_METRIC_COLUMNS);
  });

  focusedRun = $derived(this.runs.find((r) => r.id === this.focused) ?? null);

  private timer: ReturnType<typeof setTimeout> | null = null;
  private seriesTimer: ReturnType<typeof setTimeout> | null = null;
  private offs: Array<() => void> = [];

  constructor(experimentId: number | null = null) {
    this.experimentId = experimentId;
    const soon = (): void => this.refreshSoon();
    this.offs.push(
      client.on('run.status', soon),
      client.on('run.progress', soon),
      client.on('run.metrics', (e) => {
        soon();
        if (e.runId === this.focused) this.seriesSoon();
      }),
    );
    void this.refresh();
    void this.loadExperiments();
  }

  dispose(): void {
    for (const off of this.offs) off();
    if (this.timer) clearTimeout(this.timer);
    if (this.seriesTimer) clearTimeout(this.seriesTimer);
  }

  async refresh(): Promise<void> {
    const t0 = performance.now();
    try {
      const [runs, queue] = await Promise.all([
        client.call('runs.table', { text: this.text || undefined, experimentId: this.experimentId ?? undefined }),
        client.call('queue.get', {}),
      ]);
      this.runs = runs;
      this.queue = queue;
      this.error = null;
    } catch (e) {
      this.error = (e as Error).message;
    }
    this.lastLoadMs = performance.now() - t0;
    this.loaded = true;
  }

  async loadExperiments(): Promise<void> {
    try {
      this.experiments = await client.call('experiments.list', {});
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  /** Coalesces bursts of events into one request. */
  refreshSoon(delay = 300): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.refresh();
    }, delay);
  }

  setText(text: string): void {
    this.text = text;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.refreshSoon(100);
  }

  setExperiment(id: number | null): void {
    this.experimentId = id;
    void this.refresh();
  }

  toggle(id: number): void {
    this.selected = this.selected.includes(id) ? this.selected.filter((x) => x !== id) : [...this.selected, id];
  }

  selectAllShown(): void {
    const ids = this.runs.map((r) => r.id);
    this.selected = this.selected.length === ids.length ? [] : ids;
  }

  async focus(id: number | null): Promise<void> {
    this.focused = id;
    this.focusedSeries = [];
    if (id !== null) await this.loadSeries();
  }

  private seriesSoon(): void {
    if (this.seriesTimer) return;
    this.seriesTimer = setTimeout(() => {
      this.seriesTimer = null;
      void this.loadSeries();
    }, 500);
  }

  async loadSeries(): Promise<void> {
    const id = this.focused;
    if (id === null) return;
    try {
      const series = await client.call('runs.metrics', { id, maxPoints: 400 });
      if (this.focused === id) this.focusedSeries = series;
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  private async act(fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
      this.error = null;
    } catch (e) {
      this.error = (e as Error).message;
    }
    await this.refresh();
  }

  cancel = (id: number): Promise<void> => this.act(() => client.call('runs.cancel', { id }));
  retry = (id: number): Promise<void> => this.act(() => client.call('runs.retry', { id }));
  move = (id: number, delta: number): Promise<void> => this.act(() => client.call('queue.move', { id, delta }));
  setConcurrency = (n: number): Promise<void> => this.act(() => client.call('queue.settings', { concurrency: n }));
  saveTagsNotes = (id: number, tags: string, notes: string): Promise<void> => this.act(() => client.call('runs.update', { id, tags, notes }));
}
