/**
 * The one API contract between the UI and the main process. Each operation has a request
 * schema (validated in main, whatever the transport) and a response type; each event has a
 * payload type. Electron IPC and the browser-mode HTTP server are both derived from this table.
 */
import { z } from 'zod';
import type { RunStatus } from '../domain/runs';
import { coreOperations } from './ops/core';
import { perceptronOperations } from './ops/perceptron';
import { datasetOperations } from './ops/datasets';
import type { DatasetInfo } from '../domain/datasets';
import type { PhaseId, PhaseProgress } from '../domain/phases';
import { experimentOperations } from './ops/experiments';
import { trainingOperations } from './ops/training';
import { modelOperations } from './ops/models';
import { marginOperations } from './ops/margins';

export type { AppInfo, BackendInfo } from './ops/core';

/**
 * The operation table: one module per domain under ./ops, merged here. Add a domain by writing
 * src-shared/api/ops/<domain>.ts and spreading it below.
 */
export const operations = {
  ...coreOperations,
  ...perceptronOperations,
  ...datasetOperations,
  ...experimentOperations,
  ...trainingOperations,
  ...modelOperations,
  ...marginOperations,
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
  /**
   * `progress`/`etaSeconds` are the whole job's; train runs add the current `phase`, every phase
   * with its own fraction and ETA, and the seconds since the job started.
   */
  'run.progress': {
    runId: number;
    progress: number;
    text: string;
    etaSeconds: number | null;
    phase?: PhaseId;
    phases?: PhaseProgress[];
    elapsedSeconds?: number;
  };
  'run.metrics': { runId: number; points: Array<{ key: string; step: number; value: number }> };
  'run.result': { runId: number };
  /** A dataset import or download moving on. */
  'datasets.progress': { importId: string; fraction: number; text: string };
  /** An import or download ended: the dataset, or the error. */
  'datasets.imported': { importId: string; dataset: DatasetInfo | null; error: string | null };
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
