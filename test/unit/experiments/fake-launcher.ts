import type { FromJob, JobLauncher, ToJob } from '../../../src-main/jobs/protocol';

/** A job process the test drives by hand: it records what it was asked to run. */
export interface FakeJob {
  runId: number | null;
  config: unknown;
  emit(m: FromJob): void;
  exit(code?: number): void;
  cancelled: boolean;
}

export function fakeLauncher(): { launcher: JobLauncher; jobs: FakeJob[]; started: () => number[] } {
  const jobs: FakeJob[] = [];
  const launcher: JobLauncher = () => {
    let onMessage: (m: FromJob) => void = () => {};
    let onExit: (code: number | null, signal: string | null) => void = () => {};
    let exited = false;
    const job: FakeJob = {
      runId: null,
      config: null,
      cancelled: false,
      emit: (m) => onMessage(m),
      exit: (code = 0) => {
        if (exited) return;
        exited = true;
        onExit(code, null);
      },
    };
    jobs.push(job);
    return {
      pid: null,
      send: (m: ToJob) => {
        if (m.type === 'start') ((job.runId = m.runId), (job.config = m.config));
        else job.cancelled = true;
      },
      onMessage: (l) => (onMessage = l),
      onExit: (l) => (onExit = l),
      kill: () => job.exit(1),
    };
  };
  return { launcher, jobs, started: () => jobs.map((j) => j.runId!) };
}

/** Finish a fake job the way a real one does: metrics, done, exit. */
export function finishJob(job: FakeJob, points: Array<{ key: string; step: number; value: number }> = []): void {
  if (points.length) job.emit({ type: 'metrics', points });
  job.emit({ type: 'done' });
  job.exit(0);
}
