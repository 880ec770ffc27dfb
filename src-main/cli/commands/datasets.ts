/**
 * `puma datasets`: import a file or folder, list what is imported, download a known dataset.
 * Progress goes to stderr; with --json stdout carries exactly one JSON object.
 */
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DatasetFormatOrAuto, DownloadableDataset, type DatasetInfo } from '../../../src-shared/domain/datasets';
import type { DatasetService, ProgressFn } from '../../services/datasets';
import { openCliApp } from '../app';
import { CliError } from '../args';

export const DATASETS_USAGE = `  puma datasets import PATH --name NAME [--format auto|${DatasetFormatOrAuto.options.filter((f) => f !== 'auto').join('|')}]
                  [--generated-for BASE] [--json] [--db PATH]
  puma datasets list [--json] [--db PATH]
  puma datasets download ${DownloadableDataset.options.join('|')} [--name NAME] [--json] [--db PATH]`;

const print = (obj: unknown): void => void process.stdout.write(JSON.stringify(obj) + '\n');

function parse<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new CliError(`${(e as Error).message}\n\n${DATASETS_USAGE}`);
  }
}

/** The app's datasets service over the log named by --db (imports run in this process, not as jobs). */
function openService(db: string | undefined): { service: DatasetService; close(): void } {
  const app = openCliApp(db);
  return { service: app.datasets, close: () => app.close() };
}

/** Percent lines on stderr: rewritten in place on a terminal, every 5 % otherwise (logs stay short). */
function stderrProgress(): ProgressFn & { end(): void } {
  const tty = process.stderr.isTTY;
  let last = -1;
  const fn = ((fraction: number, text: string) => {
    const pct = Math.floor(fraction * 100);
    if (tty) process.stderr.write(`\r${String(pct).padStart(3)}% ${text}`.padEnd(60));
    else if (pct >= last + 5 || (fraction === 1 && pct !== last)) {
      last = pct;
      process.stderr.write(`${pct}% ${text}\n`);
    }
  }) as ProgressFn & { end(): void };
  fn.end = () => {
    if (tty) process.stderr.write('\n');
  };
  return fn;
}

function summary(d: DatasetInfo): string {
  const splits = (['train', 'test'] as const)
    .filter((s) => d.splits[s])
    .map((s) => `${s} ${d.splits[s]!.count}`)
    .join(', ');
  return `dataset ${d.id} "${d.name}": ${d.format}, ${d.shape.join('×')}, ${d.classes.length} classes, ${splits}`;
}

/** Service errors here are about the user's input (path, format, name): exit code 2. */
async function asCliError<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError((e as Error).message);
  }
}

async function importCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    name: { type: 'string' },
    format: { type: 'string' },
    'generated-for': { type: 'string' },
    json: { type: 'boolean', default: false },
    db: { type: 'string' },
  });
  if (positionals.length !== 1)
    throw new CliError(`puma datasets import needs exactly one PATH (a file or folder), got ${positionals.length}.\n\n${DATASETS_USAGE}`);
  if (!values.name?.trim()) throw new CliError('puma datasets import needs --name NAME.');
  const format = DatasetFormatOrAuto.safeParse(values.format ?? 'auto');
  if (!format.success) throw new CliError(`--format must be one of ${DatasetFormatOrAuto.options.join(', ')}, got '${values.format}'.`);
  const base = values['generated-for'];
  const generatedFor = base !== undefined && /^\d+$/.test(base) ? Number(base) : base;
  const { service, close } = openService(values.db);
  const progress = stderrProgress();
  try {
    const info = await asCliError(() =>
      service.importDataset({ path: path.resolve(positionals[0]), name: values.name!, format: format.data, generatedFor }, progress),
    );
    progress.end();
    if (values.json) print(info);
    else console.log(summary(info));
  } finally {
    close();
  }
}

async function listCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean', default: false }, db: { type: 'string' } });
  if (positionals.length) throw new CliError(`puma datasets list takes no arguments, got '${positionals.join(' ')}'.`);
  const { service, close } = openService(values.db);
  try {
    const datasets = service.list();
    if (values.json) print({ datasets });
    else if (!datasets.length) console.log('No datasets imported yet. Try: puma datasets import PATH --name NAME');
    else for (const d of datasets) console.log(summary(d));
  } finally {
    close();
  }
}

async function downloadCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, { name: { type: 'string' }, json: { type: 'boolean', default: false }, db: { type: 'string' } });
  const which = DownloadableDataset.safeParse(positionals[0]);
  if (positionals.length !== 1 || !which.success) {
    throw new CliError(`puma datasets download needs one of ${DownloadableDataset.options.join(', ')}, got '${positionals.join(' ')}'.`);
  }
  const { service, close } = openService(values.db);
  const progress = stderrProgress();
  try {
    const info = await asCliError(() => service.downloadAndImport(which.data, values.name ?? which.data, progress));
    progress.end();
    if (values.json) print(info);
    else console.log(summary(info));
  } finally {
    close();
  }
}

export async function datasetsCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'import') return importCommand(rest);
  if (sub === 'list') return listCommand(rest);
  if (sub === 'download') return downloadCommand(rest);
  throw new CliError(`Unknown 'datasets' subcommand '${sub ?? ''}'. Usage:\n${DATASETS_USAGE}`);
}
