import type { Events, EventName } from '../../src-shared/api/contract';
import { isTerminal, type RunStatus } from '../../src-shared/domain/runs';
import type { PhaseProgress } from '../../src-shared/domain/phases';
import { isStorageFault } from '../store/db';
import type { RunsRepo } from '../store/repos/runs';
import type { RunArtifacts } from '../../src-shared/domain/run-artifacts';
import type { FromJob, JobLauncher, JobProcess } from './protocol';

/** The start of a run's error when the log could not take what its job reported. */
const UNRECORDED = 'The experiment log could not record what the job reported';

export type EventSink = <K extends EventName>(name: K, payload: Events[K]) => void;

interface Active {
  proc: JobProcess;
  cancelRequested: boolean;
  gotDone: boolean;
  error: string | null;
  /** Ids the log gave the run's artifacts: the job cannot know them, so they join every result it sends. */
  artifactIds: Record<string, unknown> | null;
}

/** Registers a run's artifacts in the log (PumaApp sets it); returns the fields to add to its result. */
export type ArtifactRecorder = (runId: number, artifacts: RunArtifacts) => Record<string, unknown>;

/**
 * Runs queued runs, each in its own process, at most `concurrency` at a time. The runner writes
 * to the log everything a job reports (margin jobs also write their margin set's rows
 * themselves: protocol.ts says who writes what); runs still queued survive a restart.
 */
export class JobRunner {
  private active = new Map<number, Active>();
  private waiters = new Map<number, Array<(s: RunStatus) => void>>();
  /** The latest phases of each active run (the log keeps only the overall progress). */
  private phases = new Map<number, { phases: PhaseProgress[]; elapsedSeconds: number | null }>();
  private stopped = false;
  /** Set by the app: records the margin models / sets train jobs report. */
  recordArtifacts: ArtifactRecorder | null = null;

  constructor(
    private readonly repo: RunsRepo,
    private readonly launch: JobLauncher,
    private readonly emit: EventSink,
    private readonly paths: { dbPath: string; dataDir: string },
    private concurrency = 1,
  ) {}

  /** How many runs may run at once (the queue's per-device setting); starts more at once if raised. */
  setConcurrency(n: number, startNow = true): void {
    if (!Number.isInteger(n) || n < 1) throw new Error(`JobRunner: concurrency must be a positive integer, got ${n}`);
    this.concurrency = n;
    if (startNow) this.pump();
  }

  get maxConcurrent(): number {
    return this.concurrency;
  }

  /**
   * The last storage fault that kept queued runs from starting (disk full, I/O error), null once
   * a run starts again: the queue waits, the app keeps serving.
   */
  storageFault: string | null = null;

  /** Starts queued runs while there is a free slot (none on a read-only log). */
  pump(): void {
    if (this.stopped || this.repo.readOnly) return;
    try {
      while (this.active.size < this.concurrency) {
        const next = this.repo.nextQueued();
        if (!next) return;
        if (!this.repo.claimQueued(next.id)) continue; // another app instance took it
        this.storageFault = null;
        this.startRun(next.id, next.kind, JSON.parse(next.config_json));
      }
    } catch (err) {
      // Called from job exits and requests alike: a log that cannot be written must not take
      // the process down. The runs stay queued for the next pump.
      if (!isStorageFault(err)) throw err;
      this.storageFault = (err as Error).message;
    }
  }

  private startRun(runId: number, kind: Parameters<typeof this.repo.create>[0]['kind'], config: unknown): void {
    let proc: JobProcess;
    try {
      proc = this.launch();
    } catch (err) {
      this.settle(runId, 'failed', `Could not start the job process: ${(err as Error).message}`);
      return;
    }
    const state: Active = { proc, cancelRequested: false, gotDone: false, error: null, artifactIds: null };
    this.active.set(runId, state);
    try {
      this.repo.markRunning(runId, proc.pid);
    } catch (err) {
      // The job has not been sent its start: stop it and settle the run (in memory if need be).
      this.active.delete(runId);
      proc.kill();
      this.settle(runId, 'failed', `${UNRECORDED}: ${(err as Error).message}`);
      return;
    }
    this.emit('run.status', { runId, status: 'running' });
    proc.onMessage((m) => this.onMessage(runId, state, m));
    proc.onExit((code, signal) => {
      this.active.delete(runId);
      this.phases.delete(runId);
      // On shutdown the log may be closed already; the next start marks the run interrupted.
      if (this.stopped) return;
      let status: RunStatus;
      let error: string | null = null;
      if (state.cancelRequested) status = 'cancelled';
      else if (state.gotDone) status = 'finished';
      else if (state.error) ((status = 'failed'), (error = state.error));
      else {
        // Killed or crashed without a word: the run can be resumed, it did not fail on its own.
        status = 'interrupted';
        error = `The job process ended unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`}).`;
      }
      this.settle(runId, status, error);
      this.pump();
    });
    proc.send({ type: 'start', runId, kind, config, dbPath: this.paths.dbPath, dataDir: this.paths.dataDir });
  }

  private onMessage(runId: number, state: Active, m: FromJob): void {
    try {
      switch (m.type) {
        case 'environment':
          this.repo.setEnvironment(runId, m.backend, m.device);
          break;
        case 'progress':
          this.repo.setProgress(runId, m.progress, m.text, m.etaSeconds);
          if (m.phases) this.phases.set(runId, { phases: m.phases, elapsedSeconds: m.elapsedSeconds ?? null });
          this.emit('run.progress', {
            runId,
            progress: m.progress,
            text: m.text,
            etaSeconds: m.etaSeconds,
            ...(m.phase ? { phase: m.phase } : {}),
            ...(m.phases ? { phases: m.phases } : {}),
            ...(m.elapsedSeconds != null ? { elapsedSeconds: m.elapsedSeconds } : {}),
          });
          break;
        case 'metrics':
          this.repo.addMetrics(runId, m.points);
          this.emit('run.metrics', { runId, points: m.points });
          break;
        case 'checkpoint':
          this.repo.recordCheckpoint(runId, m.checkpoint, m.points);
          if (m.points.length > 0) this.emit('run.metrics', { runId, points: m.points });
          break;
        case 'artifacts':
          if (!this.recordArtifacts) throw new Error('this app registers no run artifacts');
          state.artifactIds = this.recordArtifacts(runId, m.artifacts);
          break;
        case 'result':
          this.repo.setResult(runId, state.artifactIds && m.result && typeof m.result === 'object' ? { ...m.result, ...state.artifactIds } : m.result);
          this.emit('run.result', { runId });
          break;
        case 'done':
          state.gotDone = true;
          break;
        case 'error':
          if (m.message !== 'cancelled') state.error = m.message;
          break;
      }
    } catch (err) {
      // A bad message or a log that cannot take it (disk full, I/O error) must not crash main:
      // the job stops (its last checkpoint stays resumable) and the run records the first cause.
      if (state.error?.startsWith(UNRECORDED)) return;
      state.error = `${UNRECORDED}: ${(err as Error).message}`;
      state.proc.kill();
    }
  }

  /**
   * Records a run's end. When the log cannot take it, the failure itself is recorded instead (a
   * shorter write of the same row); when that fails too, the end is kept in memory (runs.get,
   * runs.list, waitFor and the run.status event still report it) until the next start marks
   * the run interrupted.
   */
  private settle(runId: number, status: RunStatus, error: string | null): void {
    try {
      this.repo.finish(runId, status, error);
    } catch (err) {
      if (!isStorageFault(err)) throw err;
      const cause = `The experiment log could not record the end of this run: ${(err as Error).message}`;
      const full = error && !error.startsWith(UNRECORDED) ? `${error} (${cause})` : cause;
      status = 'failed';
      try {
        this.repo.finish(runId, status, cause); // the cause alone: a shorter write may still fit
        error = cause;
      } catch {
        this.repo.unrecorded.set(runId, { status, error: full });
        error = full;
      }
    }
    this.emit('run.status', { runId, status, error });
    for (const w of this.waiters.get(runId) ?? []) w(status);
    this.waiters.delete(runId);
  }

  /** Cancels a queued run at once, a running one by asking its job and killing it if it does not stop. */
  cancel(runId: number): RunStatus {
    const active = this.active.get(runId);
    if (active) {
      active.cancelRequested = true;
      active.proc.send({ type: 'cancel' });
      setTimeout(() => {
        if (this.active.get(runId) === active) active.proc.kill();
      }, 3000).unref();
      return 'running';
    }
    const run = this.repo.get(runId);
    if (run.status === 'queued') {
      this.settle(runId, 'cancelled', null);
      return 'cancelled';
    }
    return run.status;
  }

  /** The latest phases an active run reported (null when it is not running or reports none). */
  phasesOf(runId: number): { phases: PhaseProgress[]; elapsedSeconds: number | null } | null {
    return this.phases.get(runId) ?? null;
  }

  isActive(runId: number): boolean {
    return this.active.has(runId);
  }

  /** Resolves with the run's terminal status. */
  waitFor(runId: number): Promise<RunStatus> {
    const status = this.repo.get(runId).status;
    if (isTerminal(status)) return Promise.resolve(status);
    return new Promise((resolve) => {
      const list = this.waiters.get(runId) ?? [];
      list.push(resolve);
      this.waiters.set(runId, list);
    });
  }

  /** Kills every job (app shutdown); their runs become interrupted. */
  stopAll(): void {
    this.stopped = true;
    for (const a of this.active.values()) a.proc.kill();
  }
}
