import type { CompareData } from '../../../src-shared/api/ops/experiments';
import type { GroupedTable } from '../../../src-shared/method/table';
import { canonicalJson, getConfigValue } from '../../../src-shared/method/table';
import { client } from '../api/client';
import { downloadText } from '../components/palette';

const PREFERRED_METRICS = ['clean_acc', 'robust_acc_cw', 'robust_acc_pgd'];
/** Charts: at most this many points per series (down-sampled in SQL). */
const MAX_POINTS = 120;
const MAX_CHARTS = 6;

/**
 * The compare view: config diff, overlaid curves, the accuracy–robustness scatter and the
 * grouped table (mean ± std over seeds, best in bold) of a set of runs, with exports.
 */
export class CompareState {
  runIds = $state<number[]>([]);
  data = $state.raw<CompareData | null>(null);
  table = $state.raw<GroupedTable | null>(null);
  onlyChanged = $state(true);
  groupBy = $state<string[]>([]);
  metrics = $state<string[]>([]);
  finishedOnly = $state(true);
  xMetric = $state('clean_acc');
  yMetric = $state('robust_acc_cw');
  error = $state<string | null>(null);
  tableError = $state<string | null>(null);
  loaded = $state(false);

  /** Every metric key any run has, preferred ones first. */
  metricKeys = $derived.by(() => {
    const seen = new Set<string>();
    for (const r of this.data?.runs ?? []) for (const k of Object.keys(r.latest)) seen.add(k);
    return [...PREFERRED_METRICS.filter((k) => seen.has(k)), ...[...seen].filter((k) => !PREFERRED_METRICS.includes(k)).sort()];
  });

  /** Config keys whose values differ between the runs: the candidates to group by. */
  changedKeys = $derived((this.data?.diff.rows ?? []).filter((r) => r.differs).map((r) => r.key));
  allKeys = $derived((this.data?.diff.rows ?? []).map((r) => r.key));
  diffRows = $derived((this.data?.diff.rows ?? []).filter((r) => !this.onlyChanged || r.differs));

  chartKeys = $derived(this.metricKeys.slice(0, MAX_CHARTS));

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
    this.metrics = this.metrics.includes(key) ? this.metrics.filter((k) => k !== key) : [...this.metrics, key];
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
