import type { CompareData } from '../../../src-shared/api/ops/experiments';
import { AXIS_LABELS, compareMetricKeys, metricDisplayValue, metricHeader, metricInfo, TABLE_METRICS } from '../../../src-shared/domain/metrics';
import { fieldTitle, TRAIN_DOCS } from '../../../src-shared/domain/parameter-docs';
import type { GroupedTable, TableGroup } from '../../../src-shared/method/table';
import { canonicalJson, formatGroupValue, getConfigValue, meanStdSeries } from '../../../src-shared/method/table';
import { client } from '../api/client';
import { colorAt, downloadText } from '../components/palette';

/** Charts: at most this many points per series (down-sampled in SQL). */
const MAX_POINTS = 120;
/** A perceptron study logs one series per (strategy, ratio): draw this many at most. */
const MAX_CHARTS = 24;

/** A line of a chart, as LineChart.svelte takes it (plain tsc cannot read types out of .svelte files). */
export interface LineSeries {
  label: string;
  points: Array<{ step: number; value: number }>;
  color: string;
  band?: Array<{ step: number; lo: number; hi: number }>;
}

/** One chart of the curves section: a metric over its x axis, a line per run or per group. */
export interface CurveChart {
  key: string;
  title: string;
  xLabel: string;
  integerX: boolean;
  series: LineSeries[];
}

export interface LegendEntry {
  label: string;
  color: string;
}

/** A config key's header: the words of the training form ("Pruning ratio r"), else the key. */
export function keyTitle(key: string): string {
  const doc = (TRAIN_DOCS as Record<string, (typeof TRAIN_DOCS)[keyof typeof TRAIN_DOCS] | undefined>)[key];
  return doc ? fieldTitle(doc) : key;
}

/**
 * The compare view: config diff, curves of every metric (a line per run, or the group mean ±
 * std band when grouped), the accuracy–robustness scatter and the grouped table (mean ± std
 * over seeds, best in bold) of a set of runs, with exports. Names, units and axes come from
 * src-shared/domain/metrics; accuracies are drawn and tabled in percent.
 */
export class CompareState {
  runIds = $state<number[]>([]);
  data = $state.raw<CompareData | null>(null);
  table = $state.raw<GroupedTable | null>(null);
  onlyChanged = $state(true);
  groupBy = $state<string[]>([]);
  metrics = $state<string[]>([]);
  finishedOnly = $state(true);
  /** Curves per run even when the table is grouped. */
  eachRun = $state(false);
  xMetric = $state('clean_acc');
  yMetric = $state('robust_acc_cw');
  error = $state<string | null>(null);
  tableError = $state<string | null>(null);
  loaded = $state(false);

  /**
   * The table metrics the runs have (bare names, the paper's order). Runs without any (margins,
   * perceptron) offer their own final values, never curve-only series such as the learning rate.
   */
  metricKeys = $derived.by(() => {
    const seen = new Set<string>();
    for (const r of this.data?.runs ?? []) for (const k of Object.keys(r.latest)) seen.add(k);
    const table = TABLE_METRICS.filter((k) => seen.has(k));
    if (table.length) return table;
    return [...seen].filter((k) => !metricInfo(k).known || metricInfo(k).table).sort();
  });

  /** Config keys whose values differ between the runs: the candidates to group by. */
  changedKeys = $derived((this.data?.diff.rows ?? []).filter((r) => r.differs).map((r) => r.key));
  allKeys = $derived((this.data?.diff.rows ?? []).map((r) => r.key));
  diffRows = $derived((this.data?.diff.rows ?? []).filter((r) => !this.onlyChanged || r.differs));

  runName = (id: number): string => {
    const r = this.data?.runs.find((x) => x.id === id);
    return r?.name ? `#${id} ${r.name}` : `#${id}`;
  };

  /** "strategy=puma prune_ratio=0.2", or "all runs" when nothing is grouped. */
  groupLabel = (g: TableGroup): string =>
    this.table?.groupBy.length
      ? this.table.groupBy.map((k, j) => `${k}=${g.values[j] === undefined ? '–' : formatGroupValue(g.values[j])}`).join(' ')
      : 'all runs';

  /** Curves are drawn per group (mean ± std band) when the table groups by some key. */
  grouped = $derived(!this.eachRun && !!this.table?.groupBy.length && !!this.table.groups.length);

  /** Every curve metric any run logged (one chart per metric, the listed order; the same metric under two keys once). */
  curveKeys = $derived.by(() => {
    const keys = new Set<string>();
    for (const rs of this.data?.series ?? []) for (const s of rs.series) if (s.points.length && metricInfo(s.key).curve) keys.add(s.key);
    const seen = new Set<string>();
    return [...keys].sort(compareMetricKeys).filter((k) => {
      const id = metricInfo(k).known ? metricInfo(k).label : k;
      return seen.has(id) ? false : (seen.add(id), true);
    });
  });
  hiddenCurves = $derived(Math.max(0, this.curveKeys.length - MAX_CHARTS));

  /** The lines' names and colours, shared by every chart. */
  legend = $derived.by<LegendEntry[]>(() => {
    if (this.grouped) return this.table!.groups.map((g, i) => ({ label: `${this.groupLabel(g)} (n=${g.runIds.length})`, color: colorAt(i) }));
    return (this.data?.series ?? []).map((rs, i) => ({ label: this.runName(rs.runId), color: colorAt(i) }));
  });

  curves = $derived.by<CurveChart[]>(() => {
    const series = this.data?.series ?? [];
    const pointsOf = (runId: number, key: string) =>
      (series.find((rs) => rs.runId === runId)?.series.find((s) => s.key === key)?.points ?? []).map((p) => ({
        step: p.step,
        value: metricDisplayValue(key, p.value),
      }));
    return this.curveKeys.slice(0, MAX_CHARTS).map((key) => {
      const info = metricInfo(key);
      // An accuracy's band stays within 0–100 %: mean − std below zero is not a value runs can have.
      const clamp = (band: Array<{ step: number; lo: number; hi: number }>) =>
        info.percent ? band.map((p) => ({ step: p.step, lo: Math.max(0, p.lo), hi: Math.min(100, p.hi) })) : band;
      const lines: LineSeries[] = this.grouped
        ? this.table!.groups.map((g, i) => {
            const { points, band } = meanStdSeries(g.runIds.map((id) => pointsOf(id, key)));
            return { label: this.legend[i]!.label, color: colorAt(i), points, band: clamp(band) };
          })
        : series.map((rs, i) => ({ label: this.runName(rs.runId), color: colorAt(i), points: pointsOf(rs.runId, key) }));
      return { key, title: metricHeader(key), xLabel: AXIS_LABELS[info.x], integerX: info.x === 'epoch' || info.x === 'chunk', series: lines };
    });
  });

  /** The run index of each group of the table, for colouring the scatter by group. */
  groupOfRun = $derived.by(() => {
    const out = new Map<number, number>();
    for (const r of this.data?.runs ?? []) {
      const key = this.groupBy.map((k) => canonicalJson(getConfigValue(r.config, k))).join('\u0001');
      if (!this.groupIndex.has(key)) continue;
      out.set(r.id, this.groupIndex.get(key)!);
    }
    return out;
  });
  private groupIndex = $derived.by(() => {
    const m = new Map<string, number>();
    (this.table?.groups ?? []).forEach((g, i) => m.set(g.values.map(canonicalJson).join('\u0001'), i));
    return m;
  });

  constructor(runIds: number[]) {
    this.runIds = runIds;
  }

  async load(): Promise<void> {
    if (!this.runIds.length) {
      this.error = 'Pick runs to compare on the Runs page.';
      this.loaded = true;
      return;
    }
    try {
      const data = await client.call('compare.data', { runIds: this.runIds, maxPoints: MAX_POINTS });
      this.data = data;
      this.error = null;
      // The server sends the default table with the data: no second round trip on opening.
      if (data.table) {
        this.groupBy = data.table.groupBy;
        this.metrics = data.table.metrics;
      }
      if (!this.metricKeys.includes(this.xMetric)) this.xMetric = this.metricKeys[0] ?? '';
      if (!this.metricKeys.includes(this.yMetric)) this.yMetric = this.metricKeys[1] ?? this.metricKeys[0] ?? '';
      const covers = data.table && [this.xMetric, this.yMetric].every((m) => data.table!.metrics.includes(m));
      if (covers) {
        this.table = data.table;
        this.tableError = data.table!.groups.length ? null : 'No finished run among these.';
      } else await this.loadTable();
    } catch (e) {
      this.error = (e as Error).message;
    }
    this.loaded = true;
  }

  private tableRequest() {
    return { runIds: this.runIds, groupBy: this.groupBy, metrics: this.metrics, statuses: this.finishedOnly ? ['finished'] : undefined };
  }

  async loadTable(): Promise<void> {
    if (!this.metrics.length) {
      this.table = null;
      this.tableError = 'Choose at least one metric.';
      return;
    }
    try {
      // The scatter needs both axes' metrics in the groups too.
      const metrics = [...new Set([...this.metrics, this.xMetric, this.yMetric].filter(Boolean))];
      this.table = await client.call('compare.table', { ...this.tableRequest(), metrics });
      this.tableError = this.table.groups.length ? null : 'No finished run among these.';
    } catch (e) {
      this.table = null;
      this.tableError = (e as Error).message;
    }
  }

  toggleGroupKey(key: string): void {
    this.groupBy = this.groupBy.includes(key) ? this.groupBy.filter((k) => k !== key) : [...this.groupBy, key];
    void this.loadTable();
  }

  toggleMetric(key: string): void {
    // Keep the paper's order whatever the order of clicks.
    const next = this.metrics.includes(key) ? this.metrics.filter((k) => k !== key) : [...this.metrics, key];
    this.metrics = this.metricKeys.filter((k) => next.includes(k));
    void this.loadTable();
  }

  async exportTable(format: 'csv' | 'md' | 'latex'): Promise<void> {
    try {
      const out = await client.call('export.table', { ...this.tableRequest(), format });
      downloadText(out.text, out.fileName, out.mime);
    } catch (e) {
      this.tableError = (e as Error).message;
    }
  }

  async exportMetrics(format: 'csv' | 'json'): Promise<void> {
    try {
      const out = await client.call('export.metrics', { runIds: this.runIds, format });
      downloadText(out.text, out.fileName, out.mime);
    } catch (e) {
      this.error = (e as Error).message;
    }
  }
}
