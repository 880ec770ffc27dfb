/** `puma bench`: the engine benchmark (forward, training step, input gradient, PGD-10 training). */
import { parseArgs } from 'node:util';
import { runEngineBench, BENCH_MODELS } from '../../engine/benchmark';
import { CliError } from '../args';
import { BACKEND_CHOICES } from '../../../src-shared/domain/backends';

export const BENCH_USAGE = `  puma bench [--backend ${BACKEND_CHOICES.join('|')}] [--models ${BENCH_MODELS.join(',')}] [--workers N] [--quick] [--json]
                                              engine img/s: forward, train step, input gradient, PGD-10 training`;

export async function benchCommand(argv: string[]): Promise<void> {
  let values: { backend?: string; models?: string; workers?: string; quick?: boolean; json?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        backend: { type: 'string' },
        models: { type: 'string' },
        workers: { type: 'string' },
        quick: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
    }));
  } catch (e) {
    throw new CliError(`${e instanceof Error ? e.message : String(e)}\n${BENCH_USAGE}`);
  }
  const models = values.models
    ?.split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  const unknown = models?.filter((m) => !(BENCH_MODELS as readonly string[]).includes(m)) ?? [];
  if (models != null && (models.length === 0 || unknown.length > 0)) {
    throw new CliError(`--models expects a comma-separated list of ${BENCH_MODELS.join(', ')}, got '${values.models}'.`);
  }
  let workers: number | undefined;
  if (values.workers !== undefined) {
    workers = Number(values.workers);
    if (!Number.isInteger(workers) || workers < 1) throw new CliError(`--workers expects a positive integer, got '${values.workers}'.`);
  }
  const result = await runEngineBench({
    backend: values.backend,
    models,
    workers,
    quick: values.quick,
    log: values.json ? undefined : (line) => process.stderr.write(line + '\n'),
  });
  if (values.json) {
    process.stdout.write(JSON.stringify(result) + '\n');
    return;
  }
  console.log(`backend ${result.backend} — ${result.device}; ${result.workers} process(es); load ${result.load_avg_1m}`);
  console.table(
    result.results.map((r) => ({
      model: r.model,
      batch: r.batch,
      'forward img/s': r.forward_img_s,
      'train img/s': r.train_img_s,
      'train/forward': r.train_over_forward,
      'input-grad img/s': r.input_grad_img_s,
      'PGD-10 train img/s': r.pgd10_train_img_s,
      'train img/s (parallel)': r.train_parallel_img_s,
      'PGD-10 train img/s (parallel)': r.pgd10_train_parallel_img_s,
    })),
  );
}
