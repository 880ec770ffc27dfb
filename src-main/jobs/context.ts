import type { MetricPoint } from '../../src-shared/domain/runs';
import type { TrainingCheckpointRecord } from '../../src-shared/domain/training';
import type { FromJob } from './protocol';

/** What a job handler may do: report progress, metrics and results, and see a cancel request. */
export class JobContext {
  private startedAt = Date.now();
  private lastProgressAt = 0;
  cancelled = false;

  constructor(
    readonly runId: number,
    readonly dbPath: string,
    readonly dataDir: string,
    private readonly post: (m: FromJob) => void,
  ) {}

  environment(backend: string, device: string): void {
    this.post({ type: 'environment', backend, device });
  }

  /** Progress in [0, 1]; the ETA is extrapolated from the time so far. Throttled to ~10/s. */
  progress(fraction: number, text: string, force = false): void {
    const t = Date.now();
    if (!force && t - this.lastProgressAt < 100 && fraction < 1) return;
    this.lastProgressAt = t;
    const elapsed = (t - this.startedAt) / 1000;
    const eta = fraction > 0 && fraction < 1 ? (elapsed * (1 - fraction)) / fraction : fraction >= 1 ? 0 : null;
    this.post({ type: 'progress', progress: Math.min(1, Math.max(0, fraction)), text, etaSeconds: eta });
  }

  metrics(points: MetricPoint[]): void {
    this.post({ type: 'metrics', points });
  }

  /** A saved checkpoint, logged by the main process together with `points` in one transaction. */
  checkpoint(checkpoint: TrainingCheckpointRecord, points: MetricPoint[] = []): void {
    this.post({ type: 'checkpoint', checkpoint, points });
  }

  result(result: unknown, final = false): void {
    this.post({ type: 'result', result, final });
  }

  throwIfCancelled(): void {
    if (this.cancelled) throw new JobCancelled();
  }
}

export class JobCancelled extends Error {
  constructor() {
    super('cancelled');
  }
}

export type JobHandler = (ctx: JobContext, config: unknown) => Promise<void>;
