/**
 * The one API contract between the UI and the main process. Each operation has a request
 * schema (validated in main, whatever the transport) and a response type; each event has a
 * payload type. Electron IPC and the browser-mode HTTP server are both derived from this table.
 */
import { z } from 'zod';
import { PerceptronConfig } from '../domain/perceptron';
import type { MetricSeries, RunDetail, RunStatus, RunSummary } from '../domain/runs';
import { RunKind } from '../domain/runs';

const Id = z.number().int().positive();
const empty = z.object({}).strict();

/** A response type carried only at the type level. */
const res = <T>() => undefined as unknown as T;

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
}

export const operations = {
  'app.info': { request: empty, response: res<AppInfo>() },
  'runs.list': {
    request: z
      .object({ kind: RunKind.optional(), experimentId: Id.optional(), limit: z.number().int().min(1).max(100_000).optional() })
      .strict(),
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
  'perceptron.start': {
    request: z.object({ config: PerceptronConfig, name: z.string().max(200).optional() }).strict(),
    response: res<{ runId: number }>(),
  },
} as const;

export type Operations = typeof operations;
export type OperationName = keyof Operations;
export type RequestOf<K extends OperationName> = z.input<Operations[K]['request']>;
export type ParsedRequestOf<K extends OperationName> = z.output<Operations[K]['request']>;
export type ResponseOf<K extends OperationName> = Operations[K]['response'];
export const operationNames = Object.keys(operations) as OperationName[];

export function isOperationName(name: unknown): name is OperationName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(operations, name);
}

/** Events pushed from main to every UI. */
export interface Events {
  'run.status': { runId: number; status: RunStatus; error?: string | null };
  'run.progress': { runId: number; progress: number; text: string; etaSeconds: number | null };
  'run.metrics': { runId: number; points: Array<{ key: string; step: number; value: number }> };
  'run.result': { runId: number };
}
export type EventName = keyof Events;
export interface EventMessage<K extends EventName = EventName> {
  name: K;
  payload: Events[K];
}

export { ipcChannel, IPC_EVENT_CHANNEL } from './channels';

/** The object the preload script exposes as window.puma. */
export interface PumaBridge {
  invoke(op: string, payload: unknown): Promise<unknown>;
  onEvent(listener: (message: EventMessage) => void): () => void;
}
