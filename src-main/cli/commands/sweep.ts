/**
 * `puma sweep`: a grid of runs from a preset or a config file, queued under one new experiment
 * and run to the end (one at a time unless --concurrency says otherwise). `--template NAME`
 * takes the grid, seeds and export grouping from one of the paper's experiments.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Events } from '../../../src-shared/api/contract';
import { metricInfo, TABLE_METRICS } from '../../../src-shared/domain/metrics';
import { RunKind, type RunStatus } from '../../../src-shared/domain/runs';
import { applySetArgs, parseGridArgs } from '../../../src-shared/method/sweep';
import { DEFAULT_TEMPLATE_SEEDS, getTemplate, planTemplate } from '../../../src-shared/method/templates';
import { getPreset, readPreset } from '../../services/experiments/presets';
import { openCliApp } from '../app';
import { CliError, parseNumber } from '../args';

export const SWEEP_USAGE = `  puma sweep (--preset NAME | --config FILE) --grid key=v1,v2 [--grid ...] [--set key=value ...]
  puma sweep --template NAME [--preset laptop|paper | --config FILE] [--seeds N] [--set key=value ...]
             [--name TEXT] [--kind train|perceptron] [--concurrency N] [--no-wait] [--json] [--db PATH]`;

export async function sweep(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      preset: { type: 'string' },
      config: { type: 'string' },
      template: { type: 'string' },
      seeds: { type: 'string' },
      grid: { type: 'string', multiple: true, default: [] },
      set: { type: 'string', multiple: true, default: [] },
      name: { type: 'string' },
      kind: { type: 'string' },
      concurrency: { type: 'string' },
      'no-wait': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      db: { type: 'string' },
    },
  });
  const template = values.template;
  if (values.preset && values.config) throw new CliError('puma sweep takes one of --preset NAME or --config FILE, not both.');
  if (!values.preset && !values.config && !template) throw new CliError('puma sweep needs --preset NAME, --config FILE or --template NAME.');
  if (template && values.grid.length) throw new CliError('--template sets the grid; use --set to change its base config.');
  if (!template && values.seeds !== undefined) throw new CliError('--seeds goes with --template (else grid seed=0,1,2).');
  let preset;
  try {
    // A template without a preset starts from the laptop preset: sized for a CPU.
    preset = values.config ? readPreset(path.resolve(values.config)) : getPreset(values.preset ?? 'laptop');
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  const kindParsed = RunKind.safeParse(values.kind ?? preset.kind);
  if (!kindParsed.success) throw new CliError(`--kind must be one of ${RunKind.options.join(', ')}, got '${values.kind}'.`);
  if (template && kindParsed.data !== 'train') throw new CliError(`templates are train sweeps; --kind ${kindParsed.data} does not fit.`);
  let base: Record<string, unknown>;
  let grid: Record<string, unknown[]>;
  let arms: Array<Record<string, unknown>> | undefined;
  let groupBy: string[];
  try {
    if (template) {
      const t = getTemplate(template);
      const plan = planTemplate(t, preset.config, values.set, parseNumber('seeds', values.seeds, DEFAULT_TEMPLATE_SEEDS));
      ({ base, grid, arms } = plan);
      groupBy = t.groupBy;
    } else {
      base = applySetArgs(preset.config, values.set);
      grid = parseGridArgs(values.grid);
      groupBy = Object.keys(grid).filter((k) => k !== 'seed');
    }
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  const app = openCliApp(values.db, { concurrency: values.concurrency !== undefined ? parseNumber('concurrency', values.concurrency, 1) : undefined });
  try {
    const service = app.experiments;
    const source = values.config ? path.basename(values.config) : preset.name;
    const name = values.name ?? (template ? `${template} (${source})` : `sweep ${source} ${Object.keys(grid).join('×') || 'single'}`);
    let created;
    try {
      created = await service.create({ kind: kindParsed.data, base, grid, arms, name });
    } catch (err) {
      throw new CliError((err as Error).message);
    }
    const { experimentId, runIds } = created;
    let statuses: RunStatus[] = runIds.map((id) => app.runs.get(id).status);
    if (!values['no-wait']) {
      if (!values.json) {
        process.stderr.write(`experiment ${experimentId}: ${runIds.length} runs queued (${runIds.join(', ')})\n`);
        app.onEvent((m) => {
          if (m.name === 'run.progress') {
            const p = m.payload as Events['run.progress'];
            if (runIds.includes(p.runId)) process.stderr.write(`\rrun ${p.runId}: ${Math.round(p.progress * 100)}% ${p.text}   `);
          } else if (m.name === 'run.status') {
            const p = m.payload as Events['run.status'];
            if (runIds.includes(p.runId) && p.status !== 'running') process.stderr.write(`\nrun ${p.runId} ${p.status}${p.error ? `: ${p.error}` : ''}\n`);
          }
        });
      }
      // The queue runs the grid in order; wait for every run of it.
      statuses = await Promise.all(runIds.map((id) => app.runner.waitFor(id)));
    }
    if (values.json) process.stdout.write(JSON.stringify({ experiment_id: experimentId, run_ids: runIds, statuses }) + '\n');
    else {
      console.table(runIds.map((id, i) => ({ run: id, name: app.runs.get(id).name, status: statuses[i] })));
      // The metrics the runs have: the paper's three for train runs, else the first a run logged.
      const logged = Object.keys(app.runs.get(runIds[0]!).latest);
      const metrics = TABLE_METRICS.filter((m) => logged.some((k) => metricInfo(k).name === m));
      const metric = metrics.length ? metrics.join(',') : (logged.sort()[0] ?? 'clean_acc');
      console.log(`Compare: puma export --experiment ${experimentId} --group-by ${groupBy.join(',') || 'seed'} --metrics ${metric} --format md`);
    }
    if (!values['no-wait'] && statuses.some((s) => s !== 'finished')) process.exitCode = 1;
  } finally {
    app.close();
  }
}
