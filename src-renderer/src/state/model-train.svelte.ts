import type { RequestOf, ResponseOf } from '../../../src-shared/api/contract';
import { describeIssues, type FieldIssue } from '../../../src-shared/domain/field-errors';
import { TRAIN_FIELDS } from '../../../src-shared/domain/form-fields';
import { TRAIN_DOCS } from '../../../src-shared/domain/parameter-docs';
import { isActive, type RunStatus } from '../../../src-shared/domain/runs';
import { TrainConfig } from '../../../src-shared/domain/training';
import { client } from '../api/client';

/** Longer than this, the page warns before starting. */
export const LONG_TRAINING_SECONDS = 10 * 60;

type Method = RequestOf<'models.train'>['method'];
type Arch = RequestOf<'models.train'>['arch'];

/**
 * The Models page's "Train a margin model" form: the settings, an estimate of the time before
 * starting (from a measured throughput), the running training with its progress, and Cancel.
 */
export class ModelTrainState {
  name = $state('');
  arch = $state<Arch>('cnn-small');
  dataset = $state('fashion-mnist');
  epochs = $state('2');
  method = $state<Method>('pgd_at');
  eps = $state('0.1');
  /** Training originals used; empty = all. */
  trainSubset = $state('');

  estimate = $state<ResponseOf<'training.estimate'>>(null);
  estimating = $state(false);
  issues = $state<FieldIssue[]>([]);
  error = $state<string | null>(null);
  busy = $state(false);

  runId = $state<number | null>(null);
  status = $state<RunStatus | null>(null);
  progress = $state(0);
  text = $state('');
  eta = $state<number | null>(null);

  running = $derived(this.runId !== null && isActive(this.status));
  long = $derived(this.estimate !== null && this.estimate.seconds > LONG_TRAINING_SECONDS);

  private readonly offs: Array<() => void>;

  constructor(private readonly onFinished: () => void = () => {}) {
    this.offs = [
      client.on('run.progress', (p) => {
        if (p.runId !== this.runId) return;
        this.progress = p.progress;
        this.text = p.text;
        this.eta = p.etaSeconds;
      }),
      client.on('run.status', (s) => {
        if (s.runId !== this.runId) return;
        this.status = s.status;
        if (isActive(s.status)) return;
        // Cancelled is what the user asked for: the run line says so; a failure is an error.
        if (s.status !== 'finished' && s.status !== 'cancelled') this.error = `Training run ${s.runId} ended ${s.status}${s.error ? `: ${s.error}` : ''}`;
        this.onFinished(); // the app queues a models run that registers its model; the page refreshes when that finishes
      }),
    ];
  }

  /** Releases the event subscriptions (the owning page calls it when it goes). */
  dispose(): void {
    for (const off of this.offs) off();
  }

  /** The training config models.train makes from this form (the same keys, for the estimate). */
  config(): Record<string, unknown> {
    const num = (t: string): unknown => (t.trim() === '' ? null : Number.isFinite(Number(t)) ? Number(t) : t.trim());
    const dataset = /^\d+$/.test(this.dataset) ? Number(this.dataset) : this.dataset;
    return {
      arch: this.arch,
      dataset,
      epochs: num(this.epochs),
      method: this.method,
      eps: num(this.eps),
      strategy: 'none',
      train_subset: num(this.trainSubset),
    };
  }

  issuesAt(key: string): FieldIssue[] {
    return this.issues.filter((i) => i.key === key);
  }

  /** Checks the fields (in words, at each field); true when they are fine. */
  private validate(): boolean {
    const raw = this.config();
    const parsed = TrainConfig.safeParse(raw);
    this.issues = parsed.success ? [] : describeIssues(parsed.error.issues, raw, TRAIN_DOCS, TRAIN_FIELDS);
    return parsed.success;
  }

  async refreshEstimate(): Promise<void> {
    if (!this.validate()) {
      this.estimate = null;
      return;
    }
    this.estimating = true;
    try {
      this.estimate = await client.call('training.estimate', { config: this.config() });
    } catch {
      this.estimate = null; // the fields are checked above; a dataset that is gone shows on start
    } finally {
      this.estimating = false;
    }
  }

  async start(): Promise<void> {
    this.error = null;
    if (!this.validate()) return;
    if (this.name.trim() === '') {
      this.error = 'Give the margin model a name.';
      return;
    }
    this.busy = true;
    try {
      const c = this.config();
      const r = await client.call('models.train', {
        name: this.name.trim(),
        arch: this.arch,
        dataset: c.dataset as string | number,
        epochs: c.epochs as number,
        method: this.method,
        eps: c.eps as number,
        ...(c.train_subset != null ? { extra: { train_subset: c.train_subset } } : {}),
      });
      this.runId = r.runId;
      this.status = 'queued';
      this.progress = 0;
      this.text = 'queued';
      this.eta = null;
    } catch (e) {
      this.error = (e as Error).message;
    } finally {
      this.busy = false;
    }
  }

  async cancel(): Promise<void> {
    if (this.runId === null) return;
    try {
      const r = await client.call('runs.cancel', { id: this.runId });
      this.status = r.status;
    } catch (e) {
      this.error = (e as Error).message;
    }
  }
}
