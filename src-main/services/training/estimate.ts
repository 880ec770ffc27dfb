/**
 * `training.estimate`: the time a train run will take, told before it starts (Models and Train
 * pages). The throughput is measured where the log has it — the latest finished train run with
 * the same architecture and backend — else README's benchmark; the answer says which.
 */
import os from 'node:os';
import { parseTrainConfig, type TrainConfig } from '../../../src-shared/domain/training';
import { estimateTrainSeconds, referenceThroughput, throughputFromRun, type Throughput, type TrainEstimate } from '../../../src-shared/method/estimate';
import type { RunsRepo } from '../../store/repos/runs';
import type { DatasetService } from '../datasets/service';
import { plannedBackend } from '../system';

/** Fashion-MNIST before it is imported (it is imported from the system copy when a run needs it). */
const FASHION = { count: 60_000, pixels: 28 * 28 };
const NATIVE = new Set(['node', 'node-gpu']);

function datasetSize(datasets: DatasetService, nameOrId: string | number): { count: number; pixels: number } | null {
  try {
    const d = datasets.get(nameOrId);
    return { count: d.splits.train?.count ?? 0, pixels: d.shape[0] * d.shape[1] };
  } catch {
    return typeof nameOrId === 'string' && /fashion/i.test(nameOrId) ? FASHION : null;
  }
}

const workersOf = (c: Pick<TrainConfig, 'workers'>, backend: string): number => (NATIVE.has(backend) ? 1 : c.workers === 0 ? os.cpus().length : c.workers);

/** The latest finished train run of this architecture on this backend, as a throughput. */
function measured(runs: RunsRepo, datasets: DatasetService, arch: string, backend: string): Throughput | null {
  for (const summary of runs.list({ kind: 'train', limit: 200 })) {
    if (summary.status !== 'finished') continue;
    const run = runs.get(summary.id);
    const c = run.config as TrainConfig;
    const r = run.result as { images_per_second?: number; backend?: string } | null;
    if (c?.arch !== arch || (r?.backend ?? run.backend) !== backend || !r?.images_per_second) continue;
    const size = datasetSize(datasets, c.dataset);
    if (!size) continue;
    return throughputFromRun({
      id: run.id,
      imagesPerSecond: r.images_per_second,
      method: c.method,
      attackSteps: c.attack_steps,
      workers: workersOf(c, backend),
      pixels: size.pixels,
      arch,
      backend,
    });
  }
  return null;
}

export function estimateTraining(runs: RunsRepo, datasets: DatasetService, raw: unknown): (TrainEstimate & { backend: string; workers: number }) | null {
  const c = parseTrainConfig(raw);
  const backend = c.backend !== 'auto' ? c.backend : plannedBackend().backend;
  const size = datasetSize(datasets, c.dataset);
  const t = measured(runs, datasets, c.arch, backend) ?? referenceThroughput(c.arch, backend);
  if (!size || !t) return null; // nothing measured to go on: the page says so
  const workers = workersOf(c, backend);
  const pool = Math.min(c.train_subset ?? size.count, size.count);
  return { ...estimateTrainSeconds(c, t, { pool, pixels: size.pixels, workers }), backend, workers };
}
