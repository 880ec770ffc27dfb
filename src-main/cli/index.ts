/**
 * The `puma` command: drives the same services as the app, headless. Each subcommand parses its
 * arguments and calls a service; with --json it prints exactly one JSON object on stdout.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { describeIssues } from '../../src-shared/domain/field-errors';
import { PERCEPTRON_FIELDS } from '../../src-shared/domain/form-fields';
import { PERCEPTRON_DOCS } from '../../src-shared/domain/parameter-docs';
import { PerceptronConfig, type PerceptronPoint } from '../../src-shared/domain/perceptron';
import { defaultDbPath } from '../paths';
import { APP_ROOT } from '../services/system';
import { startHttpServer } from '../transport/http';
import { openCliApp } from './app';
import { CliError, parseNumber, parseNumberList, printRunProgress } from './args';
import { checkLogFolder, takeDebugFlag } from './errors';
import { exportCommand, EXPORT_USAGE, sweep, SWEEP_USAGE } from './commands/experiments';
import { datasetsCommand, DATASETS_USAGE } from './commands/datasets';
import { trainCommand, TRAIN_USAGE } from './commands/train';
import { marginsCommand, MARGINS_USAGE } from './commands/margins';
import { modelsCommand, MODELS_USAGE } from './commands/models';
import { benchCommand, BENCH_USAGE } from './commands/bench';
import { templatesCommand, TEMPLATES_USAGE } from './commands/templates';

const USAGE = `puma — PUMA Lab from the command line

  puma serve [--port N] [--db PATH]          serve the UI on 127.0.0.1 (prints the URL with its token)
  puma perceptron [--k 200] [--eps 0.01] [--alphas 0.5,1,2,4,8] [--ratios 0,0.5,0.8]
                  [--strategies none,pe,pd] [--seeds 3] [--filter-below-eps]
                  [--max-steps N] [--tol T] [--json] [--db PATH]
  puma runs list [--json] [--db PATH]
${SWEEP_USAGE}
${TEMPLATES_USAGE}
${EXPORT_USAGE}
${DATASETS_USAGE}
${TRAIN_USAGE}
${MODELS_USAGE}
${MARGINS_USAGE}
${BENCH_USAGE}

The experiment log is --db, else $PUMA_DB, else ${defaultDbPath()}.
Bad input exits 2 with a message; add --debug to any command to see stack traces.`;

const print = (obj: unknown): void => void process.stdout.write(JSON.stringify(obj) + '\n');

async function serve(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { port: { type: 'string' }, db: { type: 'string' } } });
  const app = openCliApp(values.db);
  app.start();
  const server = await startHttpServer({
    app,
    staticDir: path.join(APP_ROOT, 'out', 'renderer'),
    port: parseNumber('port', values.port, 0),
  });
  const readOnly = app.readOnly ? ` (read-only: ${app.readOnly}; runs cannot be started)` : '';
  process.stdout.write(`PUMA Lab is running in browser mode.\nOpen: ${server.url}\nExperiment log: ${app.options.dbPath}${readOnly}\n`);
  const stop = (): void => {
    void server.close().then(() => {
      app.close();
      process.exit(0);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

async function perceptron(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      k: { type: 'string' },
      eps: { type: 'string' },
      alphas: { type: 'string' },
      ratios: { type: 'string' },
      strategies: { type: 'string' },
      seeds: { type: 'string' },
      'filter-below-eps': { type: 'boolean', default: false },
      'max-steps': { type: 'string' },
      tol: { type: 'string' },
      json: { type: 'boolean', default: false },
      db: { type: 'string' },
    },
  });
  const defaults = PerceptronConfig.parse({});
  const input = {
    k: parseNumber('k', values.k, defaults.k),
    eps: parseNumber('eps', values.eps, defaults.eps),
    alphas: parseNumberList('alphas', values.alphas, defaults.alphas),
    ratios: parseNumberList('ratios', values.ratios, defaults.ratios),
    strategies: values.strategies ? values.strategies.split(',').map((s) => s.trim()) : defaults.strategies,
    seeds: parseNumber('seeds', values.seeds, defaults.seeds),
    filterBelowEps: values['filter-below-eps'],
    maxSteps: parseNumber('max-steps', values['max-steps'], defaults.maxSteps),
    tol: parseNumber('tol', values.tol, defaults.tol),
  };
  const parsed = PerceptronConfig.safeParse(input);
  if (!parsed.success) {
    const problems = describeIssues(parsed.error.issues, input, PERCEPTRON_DOCS, PERCEPTRON_FIELDS).map((i) => i.message);
    throw new CliError(`Invalid perceptron settings: ${problems.join('; ')}`);
  }
  const app = openCliApp(values.db);
  try {
    const runId = app.startRun('perceptron', parsed.data, 'Perceptron study (CLI)');
    if (!values.json) printRunProgress(app, runId);
    const status = await app.runner.waitFor(runId);
    const run = app.runs.get(runId);
    if (status !== 'finished') throw new CliError(`Run ${runId} ended ${status}: ${run.error ?? ''}`);
    const result = run.result as { points: PerceptronPoint[]; seconds: number };
    const points = result.points.map((p) => ({
      alpha: p.alpha,
      strategy: p.strategy,
      ratio: p.ratio,
      eps: p.eps,
      filter: p.filter,
      error_mean: p.error_mean,
      error_std: p.error_std,
      one_minus_r_mean: p.one_minus_r_mean,
      steps_mean: p.steps_mean,
      converged_fraction: p.converged_fraction,
    }));
    if (values.json) print({ run_id: runId, points, convergence: { max_steps: parsed.data.maxSteps, tol: parsed.data.tol } });
    else {
      process.stderr.write('\n');
      console.log(`run ${runId} finished in ${result.seconds.toFixed(1)} s`);
      console.table(points);
    }
  } finally {
    app.close();
  }
}

async function runs(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub !== 'list') throw new CliError(`Unknown 'runs' subcommand '${sub ?? ''}'. Try: puma runs list --json`);
  const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean', default: false }, db: { type: 'string' } } });
  const app = openCliApp(values.db);
  try {
    const list = app.runs.list();
    if (values.json) print({ runs: list });
    else console.table(list.map((r) => ({ id: r.id, kind: r.kind, name: r.name, status: r.status, backend: r.backend, created: r.created_at })));
  } finally {
    app.close();
  }
}

const commands: Record<string, (argv: string[]) => Promise<void>> = {
  serve,
  perceptron,
  runs,
  sweep,
  templates: templatesCommand,
  export: exportCommand,
  datasets: datasetsCommand,
  models: modelsCommand,
  margins: marginsCommand,
  train: trainCommand,
  bench: benchCommand,
};

export async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = takeDebugFlag(argv);
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(USAGE);
    return;
  }
  const run = commands[cmd];
  if (!run) throw new CliError(`Unknown command '${cmd}'.\n\n${USAGE}`);
  checkLogFolder(rest);
  await run(rest);
}
