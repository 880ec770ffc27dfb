import { initEngine } from '../../engine';
import type { ModelJobConfig } from '../../../src-shared/domain/models';
import type { RunKind } from '../../../src-shared/domain/runs';
import type { RunsRepo } from '../../store/repos/runs';
import type { ModelService } from './service';

/** Tag of the train runs started as margin models (their final model is registered on finish). */
export const MARGIN_MODEL_TAG = 'margin-model';

let engineReady: Promise<unknown> | null = null;

/** Model export and the margin galleries still run tfjs in the main process: set its backend once per process. */
export const ensureEngine = () => (engineReady ??= initEngine());

/**
 * Turns finished margin-model train runs into margin models. PumaApp calls `registerFinished(id)`
 * when a run finishes, and `registerFinished()` once at start for runs that finished while no app
 * was watching (reads such as models.list queue nothing). Registering loads the run's model in
 * TF.js, so each is a `models` run (jobs/models/job.ts), queued once per run while this app
 * lives (the job is idempotent: a run registered since returns its model).
 */
export class MarginModelRegistry {
  /** Train runs whose registration this app has queued. */
  private readonly queued = new Set<number>();

  constructor(
    private readonly runs: RunsRepo,
    private readonly models: ModelService,
    private readonly startRun: (kind: RunKind, config: unknown, name: string) => number,
  ) {}

  /** Queues the registration of the finished margin-model train run `runId` (all of them when omitted) that has no margin model yet. */
  registerFinished(runId?: number): void {
    if (this.runs.readOnly) return; // nothing can be queued; a later start registers them
    const candidates = runId === undefined ? this.runs.list({ kind: 'train' }) : [this.runs.get(runId)].filter((r) => r.kind === 'train');
    const pending = candidates.filter(
      (r) => r.status === 'finished' && r.tags.split(/[\s,]+/).includes(MARGIN_MODEL_TAG) && !this.queued.has(r.id) && !this.models.findByRun(r.id),
    );
    for (const r of pending) {
      this.queued.add(r.id);
      const name = r.name.replace(/^Margin model: /, '');
      const config: ModelJobConfig = { op: 'addTrainRun', runId: r.id, name };
      this.startRun('models', config, `Register margin model: ${name}`);
    }
  }
}
