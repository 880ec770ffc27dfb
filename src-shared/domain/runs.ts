import { z } from 'zod';
import type { PhaseProgress } from './phases';

export const RunStatus = z.enum(['queued', 'running', 'finished', 'failed', 'cancelled', 'interrupted']);
export type RunStatus = z.infer<typeof RunStatus>;
export const TERMINAL_STATUSES: readonly RunStatus[] = ['finished', 'failed', 'cancelled', 'interrupted'];
export const isTerminal = (s: RunStatus): boolean => TERMINAL_STATUSES.includes(s);
/** Queued or running: the run is not over yet. */
export const isActive = (s: RunStatus | null | undefined): boolean => s != null && !isTerminal(s);

/** What kind of job a run is; each kind has one job entry point in src-main/jobs. */
export const RunKind = z.enum(['perceptron', 'train', 'margins', 'models']);
export type RunKind = z.infer<typeof RunKind>;

export interface RunSummary {
  id: number;
  experiment_id: number | null;
  kind: RunKind;
  name: string;
  status: RunStatus;
  seed: number | null;
  backend: string | null;
  device: string | null;
  progress: number;
  progress_text: string;
  eta_seconds: number | null;
  error: string | null;
  tags: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** Latest value of every metric (from latest_metrics). */
  latest: Record<string, number>;
}

export interface RunDetail extends RunSummary {
  config: unknown;
  result: unknown;
  app_version: string;
  git_commit: string | null;
  notes: string;
  /** While a train run is running: its phases as last reported (the log keeps only the overall progress). */
  phases?: PhaseProgress[];
  /** While running: seconds since its job started. */
  elapsed_seconds?: number | null;
}

export interface MetricPoint {
  key: string;
  step: number;
  value: number;
}

export interface MetricSeries {
  key: string;
  points: Array<{ step: number; value: number }>;
}
