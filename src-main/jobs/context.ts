import type { MetricPoint } from '../../src-shared/domain/runs';
import { PhaseTracker, type PhaseId, type PhaseProgress } from '../../src-shared/domain/phases';
import type { RunArtifacts } from '../../src-shared/domain/run-artifacts';
import type { TrainingCheckpointRecord } from '../../src-shared/domain/training';
import type { FromJob } from './protocol';

/** What a job handler may do: report progress, metrics and results, and see a cancel request. */
export class JobContext {
  private startedAt = Date.now();
  private lastProgressAt = 0;
  private tracker: PhaseTracker | null = null;
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

  /** The phases this job will walk (train runs); from now on report them with phase(). */
  planPhases(ids: readonly PhaseId[]): void {
    this.tracker = new PhaseTracker(ids, Date.now());
  }

  /**
   * Progress within one phase: `fraction` of `phase` done, `overall` of the whole job (the bar
   * other pages show). The ETA sent is the time left in the phases under way, each at its own
   * rate (null while estimating). A change of phase is always sent; the rest ~10/s.
   */
  phase(phase: PhaseId, fraction: number, overall: number, text: string, rate: number | null = null): void {
    const t = Date.now();
    const tracker = (this.tracker ??= new PhaseTracker([phase], this.startedAt));
    const changed = tracker.currentPhase !== phase;
    tracker.report(phase, fraction, t, text, rate);
    if (!changed && t - this.lastProgressAt < 100 && fraction < 1) return;
    this.lastProgressAt = t;
    this.post({
      type: 'progress',
      progress: Math.min(1, Math.max(0, overall)),
      text,
      etaSeconds: tracker.remaining(t),
      phase,
      phases: tracker.snapshot(t),
      elapsedSeconds: (t - this.startedAt) / 1000,
    });
  }

  /** A planned phase that will not run, and why (e.g. "margins found in the cache"). */
  skipPhase(phase: PhaseId, why: string): void {
    this.tracker?.skip(phase, why);
  }

  /** Every phase as it stands (for the run's result); empty when the job reports none. */
  phaseSnapshot(): PhaseProgress[] {
    return this.tracker?.snapshot(Date.now()) ?? [];
  }

  metrics(points: MetricPoint[]): void {
    this.post({ type: 'metrics', points });
  }

  /** A saved checkpoint, logged by the main process together with `points` in one transaction. */
  checkpoint(checkpoint: TrainingCheckpointRecord, points: MetricPoint[] = []): void {
    this.post({ type: 'checkpoint', checkpoint, points });
  }

  /** The margin model / margin set a train run made or used; the main process registers them. */
  artifacts(artifacts: RunArtifacts): void {
    this.post({ type: 'artifacts', artifacts });
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
