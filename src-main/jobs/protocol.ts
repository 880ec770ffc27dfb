import type { MetricPoint, RunKind } from '../../src-shared/domain/runs';
import type { RunArtifacts } from '../../src-shared/domain/run-artifacts';
import type { TrainingCheckpointRecord } from '../../src-shared/domain/training';
import type { PhaseId, PhaseProgress } from '../../src-shared/domain/phases';

/** Messages from the main process to a job process. */
export type ToJob =
  | { type: 'start'; runId: number; kind: RunKind; config: unknown; dbPath: string; dataDir: string }
  | { type: 'cancel' };

/** Messages from a job process to the main process, which alone writes them to the log. */
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
