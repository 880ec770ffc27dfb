/**
 * `puma export`: the grouped results table shaped like the paper's (group keys, pruned share, n,
 * metrics by name in percent, mean ± std where n > 1, best in bold) as CSV, Markdown, LaTeX or
 * JSON, or with --raw every metric point as CSV or JSON; stdout or --out FILE.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { formatFromFileName, TABLE_FORMATS, writeExportFile, type TableFormat } from '../../services/export';
import { TABLE_METRICS } from '../../../src-shared/domain/metrics';
import { openCliApp } from '../app';
import { CliError } from '../args';

export const EXPORT_USAGE = `  puma export (--runs ID,... | --experiment ID) --group-by key,... --metrics ${TABLE_METRICS.join(',')}
              [--format csv|md|latex|json] [--out FILE] [--statuses finished,...|--all] [--digits N]
              [--caption TEXT] [--label tab:x]
  puma export (--runs ID,... | --experiment ID) --raw [--format csv|json] [--out FILE]`;

const list = (raw: string | undefined): string[] =>
  (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function runIds(raw: string | undefined): number[] | undefined {
  if (raw === undefined) return undefined;
  const ids = list(raw).map(Number);
  if (!ids.length || ids.some((x) => !Number.isInteger(x) || x <= 0)) throw new CliError(`--runs expects run ids separated by commas, got '${raw}'.`);
  return ids;
}

export async function exportCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string' },
      experiment: { type: 'string' },
      'group-by': { type: 'string' },
      metrics: { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string' },
      statuses: { type: 'string' },
      all: { type: 'boolean', default: false },
      raw: { type: 'boolean', default: false },
      digits: { type: 'string' },
      caption: { type: 'string' },
      label: { type: 'string' },
      db: { type: 'string' },
    },
  });
  const ids = runIds(values.runs);
  const experimentId = values.experiment !== undefined ? Number(values.experiment) : undefined;
  if (experimentId !== undefined && (!Number.isInteger(experimentId) || experimentId <= 0)) {
    throw new CliError(`--experiment expects an experiment id, got '${values.experiment}'.`);
  }
  if (!ids === (experimentId === undefined)) throw new CliError('puma export needs exactly one of --runs ID,... or --experiment ID.');
  const format = values.format ?? (values.out ? formatFromFileName(values.out) : null) ?? (values.raw ? 'csv' : 'csv');
  const digits = values.digits !== undefined ? Number(values.digits) : undefined;
  if (digits !== undefined && (!Number.isInteger(digits) || digits < 0 || digits > 12))
    throw new CliError(`--digits expects an integer 0..12, got '${values.digits}'.`);

  const app = openCliApp(values.db);
  let text: string;
  try {
    const service = app.experiments;
    const selection = { runIds: ids, experimentId };
    if (values.raw) {
      if (format !== 'csv' && format !== 'json') throw new CliError(`--raw exports csv or json, not '${format}'.`);
      text = service.exportMetrics({ ...selection, format }).text;
    } else {
      if (!TABLE_FORMATS.includes(format as TableFormat)) throw new CliError(`--format must be one of ${TABLE_FORMATS.join(', ')}, got '${format}'.`);
      const metrics = list(values.metrics);
      if (!metrics.length) throw new CliError(`--metrics needs at least one metric name, e.g. --metrics ${TABLE_METRICS.join(',')}.`);
      const statuses = values.all ? undefined : values.statuses ? list(values.statuses) : ['finished'];
      text = service.exportTable({
        ...selection,
        groupBy: list(values['group-by']),
        metrics,
        format: format as TableFormat,
        statuses,
        digits,
        caption: values.caption,
        label: values.label,
      }).text;
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError((err as Error).message);
  } finally {
    app.close();
  }
  if (values.out) {
    writeExportFile(path.resolve(values.out), text);
    process.stderr.write(`wrote ${path.resolve(values.out)}\n`);
  } else process.stdout.write(text);
}
