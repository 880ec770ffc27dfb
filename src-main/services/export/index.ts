/**
 * Export service: results tables shaped like the paper's (CSV / Markdown / LaTeX / JSON: the
 * grouping keys, the pruned share and n as columns, metrics by label in percent, "±" only where
 * n > 1) and raw metric series, for `puma export` and the app's export buttons. The caller loads rows from the store; this file
 * only composes the pure functions of src-shared/method/table and writes files.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, extname } from 'node:path';
import { BadRequest } from '../../../src-shared/api/errors';
import {
  groupRuns,
  metricsToCsv,
  metricsToJson,
  tableToJson,
  toCsv,
  toLatex,
  toMarkdown,
  type CsvOptions,
  type GroupRunsOptions,
  type LatexOptions,
  type RunMetricPoint,
  type RunRow,
} from '../../../src-shared/method/table';

export const TABLE_FORMATS = ['csv', 'md', 'latex', 'json'] as const;
export type TableFormat = (typeof TABLE_FORMATS)[number];

export interface ExportTableRequest extends GroupRunsOptions {
  rows: RunRow[];
  groupBy: string[];
  metrics: string[];
  format: TableFormat;
  /** Formatting for every format; `percent` defaults to each metric's unit (accuracies in percent, domain/metrics). */
  percent?: boolean | Record<string, boolean>;
  digits?: number;
  bold?: boolean;
  labels?: Record<string, string>;
  /** LaTeX only. */
  caption?: string;
  label?: string;
  float?: boolean;
  /** CSV only. */
  lineEnding?: CsvOptions['lineEnding'];
}

/** Group the rows and format the table; an unknown format is an error naming the choices. */
export function exportTable(req: ExportTableRequest): string {
  const format = checkFormat(req.format, TABLE_FORMATS, 'exportTable');
  if (!Array.isArray(req.rows) || req.rows.length === 0) {
    throw new BadRequest('services/export exportTable: no runs to export (check --runs / --experiment)');
  }
  const table = groupRuns(req.rows, req.groupBy, req.metrics, { higherIsBetter: req.higherIsBetter, statuses: req.statuses });
  if (table.groups.length === 0) {
    throw new BadRequest(`services/export exportTable: no run has status ${req.statuses?.join(' or ')}`);
  }
  const common = { percent: req.percent, digits: req.digits };
  switch (format) {
    case 'csv':
      return toCsv(table, { ...common, labels: req.labels, lineEnding: req.lineEnding });
    case 'md':
      return toMarkdown(table, { ...common, bold: req.bold, labels: req.labels });
    case 'latex': {
      const latex: LatexOptions = { ...common, bold: req.bold, labels: req.labels, caption: req.caption, label: req.label, float: req.float };
      return toLatex(table, latex);
    }
    case 'json':
      return tableToJson(table);
  }
}

export const METRICS_FORMATS = ['csv', 'json'] as const;
export type MetricsFormat = (typeof METRICS_FORMATS)[number];

/** Raw metric points (every step of every run) as CSV or JSON. */
export function exportMetrics(req: { series: RunMetricPoint[]; format: MetricsFormat }): string {
  const format = checkFormat(req.format, METRICS_FORMATS, 'exportMetrics');
  return format === 'csv' ? metricsToCsv(req.series) : metricsToJson(req.series);
}

const EXTENSION_FORMATS: Record<string, TableFormat> = {
  '.csv': 'csv',
  '.md': 'md',
  '.markdown': 'md',
  '.tex': 'latex',
  '.json': 'json',
};

/** The table format an output file name implies (for `--out results.tex` without --format), or null. */
export function formatFromFileName(file: string): TableFormat | null {
  return EXTENSION_FORMATS[extname(file).toLowerCase()] ?? null;
}

/** Write an export, creating the folder; errors name the file. */
export function writeExportFile(file: string, text: string): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text, 'utf8');
  } catch (err) {
    throw new Error(`services/export: cannot write ${file}: ${(err as Error).message}`, { cause: err });
  }
}

function checkFormat<T extends string>(format: unknown, choices: readonly T[], fn: string): T {
  if (!choices.includes(format as T)) {
    throw new BadRequest(`services/export ${fn}: format must be one of ${choices.join(', ')}, got ${JSON.stringify(format)}`);
  }
  return format as T;
}

export type { RunRow, RunMetricPoint } from '../../../src-shared/method/table';
