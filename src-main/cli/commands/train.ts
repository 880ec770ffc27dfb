/**
 * `puma train (--config FILE.json | --preset NAME) [--set key=value ...] [--resume RUN_ID] [--json]`
 * Runs one training job through the app's services and waits for it. With --json, stdout carries
 * exactly one JSON object: {run_id, status, metrics: {clean_acc, robust_acc_pgd, robust_acc_cw},
 * backend, seconds, margin_model_id, margin_set_id}; progress goes to stderr.
 */
import { parseArgs } from 'node:util';
import { PRESET_NAMES, type TrainRunResult } from '../../../src-shared/domain/training';
import { applySetArgs } from '../../../src-shared/method/sweep';
import { readJsonFile } from '../../services/limits';
import { readPresetRaw } from '../../services/training/presets';
import { openCliApp } from '../app';
import { CliError, printRunProgress } from '../args';

export const TRAIN_USAGE = `  puma train (--config FILE.json | --preset ${PRESET_NAMES.join('|')}) [--set key=value ...] [--name NAME]
             [--resume RUN_ID] [--json] [--db PATH]`;

const print = (obj: unknown): void => void process.stdout.write(JSON.stringify(obj) + '\n');

function readConfigFile(file: string): Record<string, unknown> {
  let raw: unknown;
  try {
    // size and nesting limited; the message names the file, never echoes it
    raw = readJsonFile(file);
  } catch (e) {
    throw new CliError(`cannot read the training config: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new CliError(`${file}: a training config must be a JSON object`);
  return raw as Record<string, unknown>;
}

export async function trainCommand(argv: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string' },
        preset: { type: 'string' },
        set: { type: 'string', multiple: true },
        name: { type: 'string' },
        resume: { type: 'string' },
        json: { type: 'boolean', default: false },
        db: { type: 'string' },
      },
    }));
  } catch (e) {
    throw new CliError(`${(e as Error).message}\n\n${TRAIN_USAGE}`);
  }
  const resumeId = values.resume !== undefined ? Number(values.resume) : undefined;
  if (resumeId !== undefined && !(Number.isInteger(resumeId) && resumeId > 0)) throw new CliError(`--resume expects a run id, got '${values.resume}'`);
  if (resumeId === undefined && (values.config === undefined) === (values.preset === undefined)) {
    throw new CliError(`Give exactly one of --config FILE.json or --preset NAME.\n\n${TRAIN_USAGE}`);
  }
  const app = openCliApp(values.db);
  const started = Date.now();
  try {
    const training = app.training;
    let runId: number;
    if (resumeId !== undefined) {
      runId = training.resume(resumeId).runId;
    } else {
      let base: Record<string, unknown>;
      let source: string;
      if (values.config !== undefined) ((base = readConfigFile(values.config)), (source = values.config));
      else {
        try {
          base = readPresetRaw(values.preset!);
        } catch (e) {
          throw new CliError((e as Error).message);
        }
        source = `preset ${values.preset}`;
      }
      let config: Record<string, unknown>;
      config = base;
      for (const arg of values.set ?? []) {
        try {
          config = applySetArgs(config, [arg]);
        } catch (e) {
          // Name the flag the user typed, not the parser's function.
          throw new CliError(`--set ${arg}: ${(e as Error).message.replace(/^method\/sweep \w+: /, '')}`);
        }
      }
      try {
        runId = (await training.start(config, values.name, source)).runId;
      } catch (e) {
        throw new CliError((e as Error).message);
      }
    }
    if (!values.json || process.stderr.isTTY) printRunProgress(app, runId);
    const status = await app.runner.waitFor(runId);
    const run = app.runs.get(runId);
    const result = run.result as TrainRunResult | null;
    const out = {
      run_id: runId,
      status,
      metrics: result?.metrics ?? null,
      backend: run.backend ?? result?.backend ?? null,
      seconds: status === 'finished' && result ? result.seconds : (Date.now() - started) / 1000,
      // The margin model and set the run made or reused (`puma models list`, `puma margins list`).
      margin_model_id: result?.margin_model_id ?? null,
      margin_set_id: result?.margin_set_id ?? null,
      ...(status !== 'finished' ? { error: run.error } : {}),
    };
    if (values.json) print(out);
    else {
      process.stderr.write('\n');
      console.log(`run ${runId} ${status}${run.error ? `: ${run.error}` : ''}`);
      if (out.metrics) console.table(out.metrics);
    }
    if (status !== 'finished') process.exitCode = 1;
  } finally {
    app.close();
  }
}
