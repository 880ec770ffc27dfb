/**
 * Results tables: group runs by config keys, mean ± std of last-epoch metrics per group, and
 * the best group per metric; formatted as CSV (RFC 4180), Markdown and LaTeX (booktabs), the
 * way the paper's tables look ("87.87 ± 0.10", best in bold). Pure: no Node imports.
 *
 * Conventions (part of the output, keep them stable):
 * - Columns: the grouping keys (config key names), "Pruned (%)" (the share of the pool the runs
 *   removed, when rows carry it), "n" (runs in the group), then one column per metric headed by
 *   its label and unit from domain/metrics ("Clean accuracy (%)"); accuracies (fractions) in percent.
 * - std is the sample standard deviation (divides by n − 1); with n = 1 there is none (null), and
 *   a cell shows "± std" only where n > 1: "87.64", never "87.64 ± 0.00".
 * - A run that lacks a metric, or has a non-finite value (NaN, ±Infinity, e.g. a diverged run),
 *   does not count for that metric; a group with no value shows "–" (LaTeX "--", CSV empty), and
 *   a cell counting fewer runs than its group says so: "58.57 (n=1)".
 * - Best per metric: highest mean unless `higherIsBetter[metric] === false`, marked only where
 *   at least two groups have the metric. Means that agree to 1e-12 (relative) are ties and all
 *   are bold: summing the same seeds in a different order must not break a tie.
 * - Groups keep the order in which their first run appears; config values are compared by
 *   JSON equality (object key order ignored), and a missing key is its own value.
 */

import { higherIsBetter as metricHigherIsBetter, metricInfo } from '../domain/metrics';

export interface RunRow {
  run_id: number;
  name?: string;
  status: string;
  config: Record<string, unknown>;
  /** Last-epoch values; accuracies as fractions in [0, 1]. */
  metrics: Record<string, number>;
  /** Share of the training pool the run removed (fraction), when known. */
  pruned?: number | null;
}

/** One metric of one group. `mean` is null when no run of the group has the metric, `std` when fewer than two. */
export interface MetricSummary {
  n: number;
  mean: number | null;
  std: number | null;
  best: boolean;
}

export interface TableGroup {
  /** The group's config values, in `groupBy` order (undefined where runs lack the key). */
  values: unknown[];
  runIds: number[];
  /** The distinct pruned shares of the group's runs (fractions, ascending); empty when unknown. */
  pruned: number[];
  metrics: Record<string, MetricSummary>;
}

export interface GroupedTable {
  groupBy: string[];
  metrics: string[];
  higherIsBetter: Record<string, boolean>;
  groups: TableGroup[];
}

export interface GroupRunsOptions {
  /** Per metric; default: the metric's own (domain/metrics), true for unknown names unless they look like losses or errors. */
  higherIsBetter?: Record<string, boolean>;
  /** Keep only runs whose status is listed (e.g. ['finished']); default: all rows given. */
  statuses?: string[];
}

const TIE_TOLERANCE = 1e-12;
const UNSAFE_KEYS = new Set(['__proto__', 'prototype', 'constructor']);

function fail(fn: string, problem: string): never {
  throw new Error(`method/table ${fn}: ${problem}`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Canonical JSON of a config value: object keys sorted, so {a:1,b:2} equals {b:2,a:1};
 * undefined (missing key) gets a token no JSON text can produce.
 */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return '\u0000undefined';
  return JSON.stringify(sortKeysDeep(value));
}

function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeysDeep(value[key]);
    return out;
  }
  return value;
}

/** A config value by key: the literal key first, else a dotted path into nested objects. */
export function getConfigValue(config: Record<string, unknown>, key: string): unknown {
  if (Object.prototype.hasOwnProperty.call(config, key)) return config[key];
  if (!key.includes('.')) return undefined;
  let current: unknown = config;
  for (const part of key.split('.')) {
    if (!isPlainObject(current) || !Object.prototype.hasOwnProperty.call(current, part)) return undefined;
    current = current[part];
  }
  return current;
}

/** Mean and sample std (n − 1), two-pass for accuracy. Mean null for an empty list, std null below two values. */
export function meanStd(values: readonly number[]): { mean: number | null; std: number | null } {
  const n = values.length;
  if (n === 0) return { mean: null, std: null };
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / n;
  if (n === 1) return { mean, std: null };
  let squares = 0;
  for (const v of values) squares += (v - mean) * (v - mean);
  return { mean, std: Math.sqrt(squares / (n - 1)) };
}

/**
 * Mean of several runs' series x by x, and the ± std band where more than one run has a point
 * (Compare's grouped curves). Non-finite values do not count, as in the tables.
 */
export function meanStdSeries(runs: ReadonlyArray<ReadonlyArray<{ step: number; value: number }>>): {
  points: Array<{ step: number; value: number }>;
  band: Array<{ step: number; lo: number; hi: number }>;
} {
  const byStep = new Map<number, number[]>();
  for (const series of runs) {
    for (const p of series) {
      if (!Number.isFinite(p.value)) continue;
      const values = byStep.get(p.step);
      if (values) values.push(p.value);
      else byStep.set(p.step, [p.value]);
    }
  }
  const points: Array<{ step: number; value: number }> = [];
  const band: Array<{ step: number; lo: number; hi: number }> = [];
  for (const step of [...byStep.keys()].sort((a, b) => a - b)) {
    const { mean, std } = meanStd(byStep.get(step)!);
    points.push({ step, value: mean! });
    if (std !== null) band.push({ step, lo: mean! - std, hi: mean! + std });
  }
  return { points, band };
}

function checkNames(fn: string, what: string, names: unknown, allowEmpty: boolean): string[] {
  if (!Array.isArray(names)) fail(fn, `${what} must be an array of names`);
  if (!allowEmpty && names.length === 0) fail(fn, `${what} must name at least one key`);
  const seen = new Set<string>();
  for (const name of names) {
    if (typeof name !== 'string' || name.trim() === '') fail(fn, `${what} has an empty or non-string name`);
    if (UNSAFE_KEYS.has(name)) fail(fn, `${what} has the reserved name "${name}"`);
    if (seen.has(name)) fail(fn, `${what} names "${name}" twice`);
    seen.add(name);
  }
  return [...names] as string[];
}

/** Group runs by config keys and summarise each metric per group (see the file's conventions). */
export function groupRuns(rows: readonly RunRow[], groupBy: readonly string[], metrics: readonly string[], opts: GroupRunsOptions = {}): GroupedTable {
  const fn = 'groupRuns';
  if (!Array.isArray(rows)) fail(fn, 'rows must be an array');
  const keys = checkNames(fn, 'groupBy', groupBy, true);
  const metricNames = checkNames(fn, 'metrics', metrics, false);
  const higherIsBetter: Record<string, boolean> = {};
  for (const metric of metricNames) {
    const flag = opts.higherIsBetter?.[metric];
    if (flag !== undefined && typeof flag !== 'boolean') fail(fn, `higherIsBetter.${metric} must be a boolean`);
    higherIsBetter[metric] = flag ?? metricHigherIsBetter(metric);
  }
  const statuses = opts.statuses ? new Set(opts.statuses) : null;

  interface Bucket {
    values: unknown[];
    runIds: number[];
    pruned: number[];
    samples: Record<string, number[]>;
  }
  const buckets = new Map<string, Bucket>();
  rows.forEach((row, index) => {
    if (!isPlainObject(row as unknown)) fail(fn, `rows[${index}] is not an object`);
    const label = `run ${String(row.run_id)} (rows[${index}])`;
    if (!isPlainObject(row.config as unknown)) fail(fn, `${label} has no config object`);
    if (!isPlainObject(row.metrics as unknown)) fail(fn, `${label} has no metrics object`);
    if (statuses && !statuses.has(row.status)) return;
    const values = keys.map((key) => getConfigValue(row.config, key));
    const id = values.map(canonicalJson).join('\u0001');
    let bucket = buckets.get(id);
    if (!bucket) {
      bucket = { values, runIds: [], pruned: [], samples: Object.fromEntries(metricNames.map((m) => [m, [] as number[]])) };
      buckets.set(id, bucket);
    }
    bucket.runIds.push(row.run_id);
    if (row.pruned !== undefined && row.pruned !== null) {
      if (typeof row.pruned !== 'number' || !(row.pruned >= 0 && row.pruned <= 1))
        fail(fn, `${label} pruned must be a fraction in [0, 1], got ${String(row.pruned)}`);
      // Shares that agree to 1e-9 are one value (float noise from kept / pool).
      if (!bucket.pruned.some((p) => Math.abs(p - row.pruned!) <= 1e-9)) bucket.pruned.push(row.pruned);
    }
    for (const metric of metricNames) {
      if (!Object.prototype.hasOwnProperty.call(row.metrics, metric)) continue;
      const value = row.metrics[metric];
      if (value === null || value === undefined) continue;
      if (typeof value !== 'number') fail(fn, `${label} metric "${metric}" is ${typeof value}, not a number`);
      if (Number.isFinite(value)) bucket.samples[metric]!.push(value);
    }
  });

  const groups: TableGroup[] = [...buckets.values()].map((bucket) => ({
    values: bucket.values,
    runIds: bucket.runIds,
    pruned: bucket.pruned.sort((a, b) => a - b),
    metrics: Object.fromEntries(
      metricNames.map((metric) => {
        const samples = bucket.samples[metric]!;
        return [metric, { n: samples.length, ...meanStd(samples), best: false }];
      }),
    ),
  }));

  for (const metric of metricNames) {
    const sign = higherIsBetter[metric] ? 1 : -1;
    let bestScore = -Infinity;
    let withValue = 0;
    for (const group of groups) {
      const mean = group.metrics[metric]!.mean;
      if (mean !== null) ((bestScore = Math.max(bestScore, sign * mean)), withValue++);
    }
    // Best among one is no comparison: nothing is bold.
    if (withValue < 2) continue;
    for (const group of groups) {
      const summary = group.metrics[metric]!;
      if (summary.mean === null) continue;
      const score = sign * summary.mean;
      const scale = Math.max(1, Math.abs(score), Math.abs(bestScore));
      summary.best = bestScore - score <= TIE_TOLERANCE * scale;
    }
  }

  return { groupBy: keys, metrics: metricNames, higherIsBetter, groups };
}

// ---------------------------------------------------------------------------------------------
// Formatting

export interface FormatOptions {
  /** Show values ×100 (fractions → percent). true/false for all metrics, or per metric; default: the metric's unit (domain/metrics). */
  percent?: boolean | Record<string, boolean>;
  /** Decimals for mean and std. Default 2. */
  digits?: number;
  /** Bold the best group per metric. Default true. */
  bold?: boolean;
  /** Header text per group key or metric name (default: the key itself; a metric's label and unit). */
  labels?: Record<string, string>;
}

export interface CsvOptions {
  /** Like FormatOptions.percent. */
  percent?: boolean | Record<string, boolean>;
  /** Decimals; default: none (12 significant digits). */
  digits?: number;
  /** Header text, as FormatOptions.labels. */
  labels?: Record<string, string>;
  /** Record separator; RFC 4180 says CRLF, the default. */
  lineEnding?: '\r\n' | '\n';
}

export interface LatexOptions extends FormatOptions {
  /** Wrap the tabular in a table environment (implied by caption or label). */
  float?: boolean;
  /** Text of \caption (escaped like every other string). */
  caption?: string;
  /** Key of \label, e.g. "tab:main"; may not contain { } \ % # or spaces. */
  label?: string;
  /** Placement of the table environment; default "t". */
  placement?: string;
}

/** Header of the column of pruned shares, and of the run count. */
export const PRUNED_HEADER = 'Pruned (%)';
export const COUNT_HEADER = 'n';

function percentFor(percent: FormatOptions['percent'], metric: string): boolean {
  const fallback = metricInfo(metric).percent;
  if (percent === undefined) return fallback;
  if (typeof percent === 'boolean') return percent;
  return percent[metric] ?? fallback;
}

function checkDigits(fn: string, digits: number | undefined, fallback: number | undefined): number | undefined {
  if (digits === undefined) return fallback;
  if (!Number.isInteger(digits) || digits < 0 || digits > 12) fail(fn, `digits must be an integer in 0..12, got ${digits}`);
  return digits;
}

/**
 * `value × 10^shift` with `digits` decimals, rounded half away from zero in decimal: noise past
 * 12 significant digits is dropped first and the shift is done on the decimal exponent, so
 * 1.005 → "1.01" and 0.58425 as percent → "58.43" (toFixed would give "1.00" and "58.42").
 * Never "-0.00".
 */
export function formatFixed(value: number, digits: number, shift = 0): string {
  if (!Number.isFinite(value)) return String(value);
  const [mantissa, exponent = '0'] = Number(value.toPrecision(12)).toString().split('e');
  const scaled = Number(`${mantissa}e${Number(exponent) + shift + digits}`);
  const units = Math.sign(scaled) * Math.round(Math.abs(scaled));
  if (!Number.isSafeInteger(units)) return (value * 10 ** shift).toFixed(digits);
  if (units === 0) return (0).toFixed(digits);
  const text = String(Math.abs(units)).padStart(digits + 1, '0');
  const body = digits === 0 ? text : `${text.slice(0, -digits)}.${text.slice(-digits)}`;
  return units < 0 ? `-${body}` : body;
}

/** One cell as text parts: mean, std (null where n < 2), and a note where the cell counts fewer runs than its group. */
export interface CellText {
  mean: string;
  std: string | null;
  best: boolean;
  /** "n=1" when only some of the group's runs have the metric, else null. */
  note: string | null;
}

/** Mean ± std of one group's metric as text (the UI's table uses it too), or null when the group has no value. */
export function formatCell(group: TableGroup, metric: string, opts: { percent?: FormatOptions['percent']; digits?: number } = {}): CellText | null {
  const summary = group.metrics[metric];
  if (!summary || summary.mean === null) return null;
  const shift = percentFor(opts.percent, metric) ? 2 : 0;
  const digits = opts.digits ?? 2;
  const std = summary.n > 1 && summary.std !== null ? formatFixed(summary.std, digits, shift) : null;
  const note = summary.n < group.runIds.length ? `n=${summary.n}` : null;
  return { mean: formatFixed(summary.mean, digits, shift), std, best: summary.best, note };
}

/** A percentage without trailing zeros: 0.22 → "22", 0.225 → "22.5". */
function percentText(fraction: number): string {
  return String(Number((fraction * 100).toFixed(2)));
}

/** The group's pruned share(s) in percent: "22", or "20–25" when its runs differ; "" when unknown. */
export function formatPruned(group: TableGroup): string {
  if (!group.pruned.length) return '';
  const lo = percentText(group.pruned[0]!);
  const hi = percentText(group.pruned[group.pruned.length - 1]!);
  return lo === hi ? lo : `${lo}–${hi}`;
}

/** Whether the table shows the pruned column: some group knows its share. */
export const hasPrunedColumn = (table: GroupedTable): boolean => table.groups.some((g) => g.pruned.length > 0);

/** A group value as plain text: strings as they are, other values as JSON, missing as "". */
export function formatGroupValue(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/**
 * A metric's header unless `labels` names it: its label and unit ("Clean accuracy (%)",
 * "Training speed (img/s)"); an accuracy shown as a fraction (percent off) has no unit.
 */
export function metricColumnHeader(metric: string, opts: { percent?: FormatOptions['percent']; labels?: Record<string, string> } = {}): string {
  const given = opts.labels?.[metric];
  if (given !== undefined) return given;
  const m = metricInfo(metric);
  if (percentFor(opts.percent, metric)) return `${m.label} (%)`;
  return m.unit && m.unit !== '%' ? `${m.label} (${m.unit})` : m.label;
}

/** The leading columns' headers: group keys, the pruned share (when known), n. */
function leadHeaders(table: GroupedTable, labels?: Record<string, string>): string[] {
  return [...table.groupBy.map((k) => labels?.[k] ?? k), ...(hasPrunedColumn(table) ? [PRUNED_HEADER] : []), COUNT_HEADER];
}

function leadCells(table: GroupedTable, group: TableGroup, missing: string, escape: (s: string) => string): string[] {
  const cells = group.values.map((v) => (v === undefined ? missing : escape(formatGroupValue(v))));
  if (hasPrunedColumn(table)) cells.push(group.pruned.length ? formatPruned(group) : missing);
  cells.push(String(group.runIds.length));
  return cells;
}

function checkTable(fn: string, table: GroupedTable): void {
  if (!table || !Array.isArray(table.groups) || !Array.isArray(table.metrics) || !Array.isArray(table.groupBy)) {
    fail(fn, 'table must come from groupRuns (groupBy, metrics, groups)');
  }
}

/** RFC 4180 field: quoted when it holds a comma, a quote or a line break; quotes doubled. */
export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Without digits: 12 significant digits, which drops float noise like 0.8787000000000001 or a std of 0.000800000000000023. */
function csvNumber(value: number, percent: boolean, digits: number | undefined): string {
  if (digits !== undefined) return formatFixed(value, digits, percent ? 2 : 0);
  return String(Number((percent ? value * 100 : value).toPrecision(12)));
}

/**
 * One row per group: the group keys, the pruned share, n, then per metric its mean, std (empty
 * where n < 2) and n ("Clean accuracy (%)", "Clean accuracy (%) std", "Clean accuracy n").
 */
export function toCsv(table: GroupedTable, opts: CsvOptions = {}): string {
  checkTable('toCsv', table);
  const digits = checkDigits('toCsv', opts.digits, undefined);
  const eol = opts.lineEnding ?? '\r\n';
  const head = [
    ...leadHeaders(table, opts.labels),
    ...table.metrics.flatMap((m) => {
      const h = metricColumnHeader(m, opts);
      return [h, `${h} std`, `${opts.labels?.[m] ?? metricInfo(m).label} n`];
    }),
  ];
  const lines = [head.map(csvField).join(',')];
  for (const group of table.groups) {
    const cells = leadCells(table, group, '', (s) => s);
    for (const metric of table.metrics) {
      const s = group.metrics[metric]!;
      const percent = percentFor(opts.percent, metric);
      cells.push(s.mean === null ? '' : csvNumber(s.mean, percent, digits), s.std === null || s.n < 2 ? '' : csvNumber(s.std, percent, digits), String(s.n));
    }
    lines.push(cells.map(csvField).join(','));
  }
  return lines.join(eol) + eol;
}

/** Escape text for a Markdown table cell: pipes, backslashes, emphasis and code marks; no line breaks. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\|*`]/g, (c) => `\\${c}`).replace(/\r?\n|\r/g, ' ');
}

/** Pipe table: group keys left-aligned, pruned and n right-aligned, metrics centred as "87.87 ± 0.10", best in **bold**. */
export function toMarkdown(table: GroupedTable, opts: FormatOptions = {}): string {
  checkTable('toMarkdown', table);
  const digits = checkDigits('toMarkdown', opts.digits, 2)!;
  const bold = opts.bold ?? true;
  const head = [...leadHeaders(table, opts.labels), ...table.metrics.map((m) => metricColumnHeader(m, opts))].map(escapeMarkdown);
  const align = [...table.groupBy.map(() => ':---'), ...(hasPrunedColumn(table) ? ['---:'] : []), '---:', ...table.metrics.map(() => ':---:')];
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const lines = [row(head), row(align)];
  for (const group of table.groups) {
    const cells = leadCells(table, group, '–', escapeMarkdown);
    for (const metric of table.metrics) {
      const cell = formatCell(group, metric, { percent: opts.percent, digits });
      if (!cell) cells.push('–');
      else {
        const text = cell.std === null ? cell.mean : `${cell.mean} ± ${cell.std}`;
        cells.push(`${bold && cell.best ? `**${text}**` : text}${cell.note ? ` (${cell.note})` : ''}`);
      }
    }
    lines.push(row(cells));
  }
  return lines.join('\n') + '\n';
}

const LATEX_ESCAPES: Record<string, string> = {
  '\\': '\\textbackslash{}',
  _: '\\_',
  '%': '\\%',
  '&': '\\&',
  '#': '\\#',
  $: '\\$',
  '{': '\\{',
  '}': '\\}',
  '~': '\\textasciitilde{}',
  '^': '\\textasciicircum{}',
};

/** Escape text for LaTeX: _ % & # $ { } and also \ ~ ^ (which have no simple backslash form). */
export function escapeLatex(text: string): string {
  return text.replace(/[\\_%&#${}~^]/g, (c) => LATEX_ESCAPES[c]!).replace(/\r?\n|\r/g, ' ');
}

/**
 * booktabs tabular: column spec "l" per group key, "r" for pruned and n, "c" per metric; cells
 * "$87.87_{\pm 0.10}$", best "$\mathbf{90.65}_{\pm 0.09}$", a single run "$87.64$", missing
 * "--". Needs \usepackage{booktabs}.
 */
export function toLatex(table: GroupedTable, opts: LatexOptions = {}): string {
  const fn = 'toLatex';
  checkTable(fn, table);
  const digits = checkDigits(fn, opts.digits, 2)!;
  const bold = opts.bold ?? true;
  if (opts.label !== undefined && !/^[^\s{}\\%#]+$/.test(opts.label)) {
    fail(fn, `label "${opts.label}" may not be empty or contain spaces, braces, backslashes, % or #`);
  }
  if (opts.placement !== undefined && !/^[htbpH!]+$/.test(opts.placement)) {
    fail(fn, `placement "${opts.placement}" must use only the letters h t b p H and !`);
  }
  const spec = 'l'.repeat(table.groupBy.length) + (hasPrunedColumn(table) ? 'r' : '') + 'r' + 'c'.repeat(table.metrics.length);
  const head = [...leadHeaders(table, opts.labels), ...table.metrics.map((m) => metricColumnHeader(m, opts))].map(escapeLatex);
  const row = (cells: string[]) => `${cells.join(' & ')} \\\\`;
  const body = [`\\begin{tabular}{${spec}}`, '\\toprule', row(head), '\\midrule'];
  for (const group of table.groups) {
    const cells = leadCells(table, group, '--', escapeLatex);
    for (const metric of table.metrics) {
      const cell = formatCell(group, metric, { percent: opts.percent, digits });
      if (!cell) cells.push('--');
      else {
        const mean = bold && cell.best ? `\\mathbf{${cell.mean}}` : cell.mean;
        const math = cell.std === null ? `$${mean}$` : `$${mean}_{\\pm ${cell.std}}$`;
        cells.push(cell.note ? `${math} (${cell.note})` : math);
      }
    }
    body.push(row(cells));
  }
  body.push('\\bottomrule', '\\end{tabular}');

  const float = opts.float ?? (opts.caption !== undefined || opts.label !== undefined);
  if (!float) return body.join('\n') + '\n';
  const lines = [`\\begin{table}[${opts.placement ?? 't'}]`, '\\centering'];
  if (opts.caption !== undefined) lines.push(`\\caption{${escapeLatex(opts.caption)}}`);
  if (opts.label !== undefined) lines.push(`\\label{${opts.label}}`);
  lines.push(...body, '\\end{table}');
  return lines.join('\n') + '\n';
}
// ---------------------------------------------------------------------------------------------
// Raw exports

/** One stored metric point, as in the store's metrics table. */
export interface RunMetricPoint {
  run_id: number;
  key: string;
  step: number;
  value: number;
  /** ISO text (as stored) or epoch milliseconds. */
  time: string | number;
}

/** Every point as a CSV row: run_id,key,step,value,time (values with full precision). */
export function metricsToCsv(series: readonly RunMetricPoint[], opts: { lineEnding?: '\r\n' | '\n' } = {}): string {
  if (!Array.isArray(series)) fail('metricsToCsv', 'series must be an array of metric points');
  const eol = opts.lineEnding ?? '\r\n';
  const lines = ['run_id,key,step,value,time'];
  series.forEach((p, i) => {
    if (!isPlainObject(p) || typeof p.key !== 'string' || typeof p.value !== 'number') {
      fail('metricsToCsv', `series[${i}] must have a string key and a number value`);
    }
    lines.push([String(p.run_id), p.key, String(p.step), String(p.value), String(p.time)].map(csvField).join(','));
  });
  return lines.join(eol) + eol;
}

/** The points as a JSON array (non-finite values become null, as JSON has no NaN). */
export function metricsToJson(series: readonly RunMetricPoint[]): string {
  if (!Array.isArray(series)) fail('metricsToJson', 'series must be an array of metric points');
  return (
    JSON.stringify(
      series.map(({ run_id, key, step, value, time }) => ({ run_id, key, step, value, time })),
      null,
      2,
    ) + '\n'
  );
}

/** The grouped table as JSON (for scripts): groups with their values keyed by group key. */
export function tableToJson(table: GroupedTable): string {
  checkTable('tableToJson', table);
  const groups = table.groups.map((g) => ({
    group: Object.fromEntries(table.groupBy.map((key, i) => [key, g.values[i] ?? null])),
    n: g.runIds.length,
    run_ids: g.runIds,
    pruned: g.pruned,
    metrics: g.metrics,
  }));
  return JSON.stringify({ group_by: table.groupBy, metrics: table.metrics, higher_is_better: table.higherIsBetter, groups }, null, 2) + '\n';
}
