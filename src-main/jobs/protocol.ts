import type { MetricPoint, RunKind } from '../../src-shared/domain/runs';
import type { RunArtifacts } from '../../src-shared/domain/run-artifacts';
import type { TrainingCheckpointRecord } from '../../src-shared/domain/training';
import type { PhaseId, PhaseProgress } from '../../src-shared/domain/phases';

/**
 * The job protocol: the main process (JobRunner, runner.ts) starts one job process per run (the
 * `job` entry of src-main/processes.ts) and sends it `start`; the job reports with FromJob.
 *
 * Who writes the experiment log, and what:
 * - The main process writes everything about runs: status, progress, metrics, results,
 *   checkpoints and the artifacts train runs report (every FromJob message below).
 * - A train job only reads it (datasets, cached margin sets, runs).
 * - A margins job (jobs/margins/job.ts) and each of its extra worker processes
 *   (jobs/margins/worker.ts) write their margin set's rows directly: one transaction per finished
 *   chunk (margin_chunks), and the job alone completes the set (margin_sets) at the end. Chunks are
 *   large (seconds of work each), and going through main would send every margin twice.
 * - A models job (jobs/models/job.ts) writes its one model: the model's files (temp folder, then
 *   renamed into place) and its row with its accuracy, through the models service as the CLI
 *   does, so an import stays atomic in one place; a cancelled or failed import removes both.
 * Why several writers are safe: the log is in WAL mode with a 5 s busy timeout (store/db.ts), so
 * writers queue for SQLite's single write lock instead of failing and readers never block; each
 * write is one short transaction; the margin rows belong to a set the main process created for
 * this job alone (each worker commits only the chunk indices it was sent), and a models job
 * inserts a new model row (or the accuracy of the one it evaluates), so no two processes write
 * the same row.
 */

/** Messages from the main process to a job process. */
export type ToJob = { type: 'start'; runId: number; kind: RunKind; config: unknown; dbPath: string; dataDir: string } | { type: 'cancel' };

/** Messages from a job process to the main process, which writes what they say to the log. */
export type FromJob =
  | { type: 'environment'; backend: string; device: string }
  | {
      type: 'progress';
      progress: number;
      text: string;
      etaSeconds: number | null;
      /** Jobs that report phases (train runs): the current one, every phase, seconds since the job started. */
      phase?: PhaseId;
      phases?: PhaseProgress[];
      elapsedSeconds?: number;
    }
  | { type: 'metrics'; points: MetricPoint[] }
  | { type: 'result'; result: unknown; final: boolean }
  /** A train run saved a checkpoint; `points` (the epoch's metrics) are logged in the same transaction. */
  | { type: 'checkpoint'; checkpoint: TrainingCheckpointRecord; points: MetricPoint[] }
  /** A train run's margin model / margin set, registered by the main process (their ids join the run's result). */
  | { type: 'artifacts'; artifacts: RunArtifacts }
  | { type: 'done' }
  | { type: 'error'; message: string };

/** A running job process, whatever started it (child_process.fork or Electron's utilityProcess). */
export interface JobProcess {
  readonly pid: number | null;
  send(message: ToJob): void;
  onMessage(listener: (message: FromJob) => void): void;
  onExit(listener: (code: number | null, signal: string | null) => void): void;
  kill(): void;
}

export type JobLauncher = () => JobProcess;
