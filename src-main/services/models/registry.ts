import { initEngine } from '../../engine';
import type { RunsRepo } from '../../store/repos/runs';
import type { ModelService } from './service';

/** Tag of the train runs started as margin models (their final model is registered on finish). */
export const MARGIN_MODEL_TAG = 'margin-model';

let engineReady: Promise<unknown> | null = null;

/** Importing and evaluating run tfjs in the main process: set its backend once per process. */
export const ensureEngine = () => (engineReady ??= initEngine());

/**
 * Turns finished margin-model train runs into margin models. PumaApp calls `registerFinished`
 * when a run finishes, and models.list before it answers; calls are serialised, so both may ask
 * at once.
 */
export class MarginModelRegistry {
  private last: Promise<void> = Promise.resolve();

  constructor(
    private readonly runs: RunsRepo,
    private readonly models: ModelService,
  ) {}

  /** Registers every finished margin-model train run that has no margin model yet. */
  registerFinished(): Promise<void> {
    const next = this.last.then(() => this.registerPending());
    this.last = next.catch(() => {});
    return next;
  }

  private async registerPending(): Promise<void> {
    const pending = this.runs
      .list({ kind: 'train' })
      .filter((r) => r.status === 'finished' && r.tags.split(/[\s,]+/).includes(MARGIN_MODEL_TAG) && !this.models.findByRun(r.id));
    if (pending.length === 0) return;
    await ensureEngine();
    for (const r of pending) {
      try {
        await this.models.addTrainRun(this.runs.get(r.id), r.name.replace(/^Margin model: /, ''));
      } catch (e) {
        // A run whose final model is gone stays listed among runs; it just never becomes a margin model.
        console.error(`src-main/services/models/registry.ts: could not register run ${r.id}: ${(e as Error).message}`);
      }
    }
  }
}
