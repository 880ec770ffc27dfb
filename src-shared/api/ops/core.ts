import { z } from 'zod';
import type { MetricSeries, RunDetail, RunStatus, RunSummary } from '../../domain/runs';
import { RunKind } from '../../domain/runs';
import { empty, Id, res } from './common';

export interface BackendInfo {
  backend: string;
  device: string;
  notes: string[];
}

export interface AppInfo {
  name: string;
  version: string;
  mode: 'electron' | 'browser';
  dbPath: string;
  dataDir: string;
  /** Compute backend that jobs will use, and why. */
  backend: BackendInfo;
  git_commit: string | null;
  /** Why the experiment log is read-only (its file or folder cannot be written), null when writable. */
  readOnly: string | null;
  /** The last storage fault (disk full, I/O error) that kept queued runs from starting; null once one starts. */
  logFault: string | null;
}

/** App information and the runs every kind of job produces. */
export const coreOperations = {
  'app.info': { request: empty, response: res<AppInfo>() },
  'runs.list': {
    request: z.object({ kind: RunKind.optional(), experimentId: Id.optional(), limit: z.number().int().min(1).max(100_000).optional() }).strict(),
    response: res<RunSummary[]>(),
  },
  'runs.get': { request: z.object({ id: Id }).strict(), response: res<RunDetail>() },
  'runs.metrics': {
    request: z
      .object({
        id: Id,
        keys: z.array(z.string().max(200)).max(100).optional(),
        maxPoints: z.number().int().min(2).max(100_000).optional(),
      })
      .strict(),
    response: res<MetricSeries[]>(),
  },
  'runs.cancel': { request: z.object({ id: Id }).strict(), response: res<{ id: number; status: RunStatus }>() },
} as const;
