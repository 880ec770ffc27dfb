/** `puma margins`: margins of a dataset part under a margin model, as a job (resumable). */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { MarginMethod, MarginNorm } from '../../../src-shared/domain/margins';
import { writeNpyFloat32 } from '../../engine/margins';
import { openCliApp } from '../app';
import { CliError, parseNumber, printRunProgress } from '../args';

export const MARGINS_USAGE = `  puma margins --dataset D --model M --method ${MarginMethod.options.join('|')} [--norm ${MarginNorm.options.join('|')}] [--split train] [--eps E]
               [--step-size A] [--i-max N] [--j-max N] [--max-iter N] [--candidates K] [--overshoot O]
               [--chunk-size N] [--batch-size N] [--workers N] [--backend wasm|cpu|...] [--out FILE.npy] [--json] [--db PATH]
                                              margins of a dataset part (resumes an interrupted job)
  puma margins list [--json] [--db PATH]       every margin set, with the run that made it`;

const print = (obj: unknown): void => void process.stdout.write(JSON.stringify(obj) + '\n');
const optional = (flag: string, raw: string | undefined): number | undefined => (raw === undefined ? undefined : parseNumber(flag, raw, 0));

/** `puma margins list`: one row per set, names resolved; `run_id` is the run (margins job or train run) that made it. */
async function listCommand(argv: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false }, db: { type: 'string' } } }));
  } catch (e) {
    throw new CliError(`${(e as Error).message}\n${MARGINS_USAGE}`);
  }
  const app = openCliApp(values.db);
  try {
    const service = app.margins;
    const datasets = new Map(service.datasets.list().map((d) => [d.id, d.name]));
    const models = new Map(service.models.list().map((m) => [m.id, m.name]));
    const rows = service.list().map((s) => ({
      id: s.id,
      dataset: datasets.get(s.datasetId) ?? null,
      dataset_id: s.datasetId,
      split: s.split,
      subset: s.subset,
      generated: s.generatedId === null ? null : (datasets.get(s.generatedId) ?? null),
      model: models.get(s.modelId) ?? null,
      model_id: s.modelId,
      method: s.method,
      params: s.params,
      count: s.count,
      status: s.status,
      run_id: s.runId,
      run_kind: s.runId !== null && app.runs.exists(s.runId) ? app.runs.get(s.runId).kind : null,
      mean: s.summary?.mean ?? null,
      fraction_negative: s.summary?.fraction_negative ?? null,
      file: s.file,
      created_at: s.createdAt,
    }));
    if (values.json) print({ margin_sets: rows });
    else if (rows.length === 0) console.log('No margin sets yet.');
    else
      console.table(
        rows.map((r) => ({
          id: r.id,
          dataset: `${r.dataset}/${r.split}${r.subset !== null ? ` (first ${r.subset})` : ''}`,
          model: r.model,
          method: r.method,
          count: r.count,
          status: r.status,
          run: r.run_id,
          mean: r.mean,
        })),
      );
  } finally {
    app.close();
  }
}

export async function marginsCommand(argv: string[]): Promise<void> {
  if (argv[0] === 'list') return listCommand(argv.slice(1));
  const { values } = parseArgs({
    args: argv,
    options: {
      dataset: { type: 'string' },
      model: { type: 'string' },
      method: { type: 'string' },
      norm: { type: 'string' },
      split: { type: 'string', default: 'train' },
      eps: { type: 'string' },
      'step-size': { type: 'string' },
      'i-max': { type: 'string' },
      'j-max': { type: 'string' },
      'max-iter': { type: 'string' },
      candidates: { type: 'string' },
      overshoot: { type: 'string' },
      'chunk-size': { type: 'string' },
      'batch-size': { type: 'string' },
      workers: { type: 'string' },
      backend: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean', default: false },
      db: { type: 'string' },
    },
  });
  if (!values.dataset || !values.model || !values.method) throw new CliError(`puma margins needs --dataset, --model and --method.\n${MARGINS_USAGE}`);
  const method = MarginMethod.safeParse(values.method);
  if (!method.success) throw new CliError(`--method must be ${MarginMethod.options.join(' or ')}, got '${values.method}'.`);
  const norm = values.norm === undefined ? undefined : MarginNorm.safeParse(values.norm);
  if (norm && !norm.success) throw new CliError(`--norm must be linf or l2, got '${values.norm}'.`);
  if (values.split !== 'train' && values.split !== 'test') throw new CliError(`--split must be train or test, got '${values.split}'.`);
  const eps = optional('eps', values.eps);
  const params = Object.fromEntries(
    Object.entries({
      norm: norm?.data,
      stepSize: optional('step-size', values['step-size']),
      iMax: optional('i-max', values['i-max']),
      jMax: optional('j-max', values['j-max']),
      maxIter: optional('max-iter', values['max-iter']),
      candidates: optional('candidates', values.candidates),
      overshoot: optional('overshoot', values.overshoot),
    }).filter(([, v]) => v !== undefined),
  );

  const app = openCliApp(values.db);
  try {
    const service = app.margins;
    const started = service.start({
      datasetId: values.dataset,
      modelId: values.model,
      split: values.split,
      method: method.data,
      params,
      eps,
      chunkSize: optional('chunk-size', values['chunk-size']),
      batchSize: optional('batch-size', values['batch-size']),
      workers: optional('workers', values.workers),
      backend: values.backend,
    });
    if (started.runId !== null) {
      const runId = started.runId;
      if (!values.json) printRunProgress(app, runId);
      const status = await app.runner.waitFor(runId);
      if (!values.json) process.stderr.write('\n');
      if (status !== 'finished') throw new CliError(`Margin run ${runId} ended ${status}: ${app.runs.get(runId).error ?? ''}`);
    }
    const margins = service.read(started.marginSetId);
    const summary = service.summary(started.marginSetId, eps);
    if (values.out) writeNpyFloat32(path.resolve(values.out), margins);
    const out = { margin_set_id: started.marginSetId, ...summary };
    if (values.json) print(out);
    else {
      console.log(
        `margin set ${started.marginSetId}: ${summary.count} margins, mean ${summary.mean.toFixed(5)}, ${(summary.fraction_negative * 100).toFixed(1)}% negative`,
      );
      console.table(summary.quantiles);
      if (values.out) console.log(`wrote ${path.resolve(values.out)}`);
    }
  } finally {
    app.close();
  }
}
