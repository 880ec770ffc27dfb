import { z } from 'zod';
import { BadRequest } from '../errors';
// path-policy.ts and models/handlers.ts still import it from here (their owners are editing them)
export { BadRequest } from '../errors';
import {
  isOperationName,
  operations,
  type AppInfo,
  type EventMessage,
  type EventName,
  type Events,
  type OperationName,
  type ParsedRequestOf,
  type ResponseOf,
} from '../../src-shared/api/contract';
import type { RunKind } from '../../src-shared/domain/runs';
import { JobRunner } from '../jobs/runner';
import type { JobLauncher } from '../jobs/protocol';
import { dataDir as dataDirFor } from '../paths';
import { isStorageFault, logInfo, openDatabase, type Db } from '../store/db';
import { RunsRepo } from '../store/repos/runs';
import { createHandlers } from './handlers';
import { recordRunArtifacts } from './training/artifacts';
import { checkNamedFiles } from './path-policy';
import { APP_VERSION, gitCommit } from './system';


export type DomainHandlers<N extends OperationName> = {
  [K in N]: (req: ParsedRequestOf<K>) => Promise<ResponseOf<K>> | ResponseOf<K>;
};
export type Handlers = DomainHandlers<OperationName>;

export interface PumaAppOptions {
  dbPath: string;
  launcher: JobLauncher;
  mode: AppInfo['mode'];
  concurrency?: number;
  /** Browser mode: the folders a request may name files in (default: browserImportRoots()); the data folder always. */
  allowedRoots?: string[];
}

/**
 * The services of PUMA Lab behind one dispatcher. Electron IPC, the HTTP server and the CLI are
 * thin transports over `dispatch`; none has logic of its own.
 */
export class PumaApp {
  readonly db: Db;
  readonly runs: RunsRepo;
  readonly runner: JobRunner;
  readonly dataDir: string;
  private listeners = new Set<(m: EventMessage) => void>();
  private readonly handlers: Handlers;

  constructor(readonly options: PumaAppOptions) {
    this.db = openDatabase(options.dbPath);
    this.dataDir = dataDirFor(options.dbPath);
    this.runs = new RunsRepo(this.db);
    // A read-only log is shown as it is; a full one still opens (its orphans wait for a later start).
    if (!this.readOnly) {
      try {
        this.runs.markOrphansInterrupted();
      } catch (err) {
        if (!isStorageFault(err)) throw err;
      }
    }
    this.runner = new JobRunner(
      this.runs,
      options.launcher,
      (name, payload) => this.emit(name, payload),
      { dbPath: options.dbPath, dataDir: this.dataDir },
      options.concurrency ?? 1,
    );
    this.runner.recordArtifacts = (runId, artifacts) => ({ ...recordRunArtifacts(this.db, runId, artifacts) });
    this.handlers = createHandlers(this);
  }

  /** Why the log is read-only (null: writable); a request that writes fails with a message naming the log. */
  get readOnly(): string | null {
    return logInfo(this.db).readOnly;
  }

  /** Queues a run and starts it when a slot is free. */
  startRun(kind: RunKind, config: unknown, name: string, extra: { experimentId?: number; seed?: number } = {}): number {
    const id = this.runs.create({
      kind,
      name,
      config,
      experimentId: extra.experimentId ?? null,
      seed: extra.seed ?? null,
      appVersion: APP_VERSION,
      gitCommit: gitCommit(),
    });
    this.emit('run.status', { runId: id, status: 'queued' });
    this.runner.pump();
    return id;
  }

  /** Validates the payload against the contract and calls the operation's service. */
  async dispatch(op: string, payload: unknown): Promise<unknown> {
    if (!isOperationName(op)) throw new BadRequest(`Unknown operation '${String(op)}'.`);
    const parsed = operations[op].request.safeParse(payload ?? {});
    if (!parsed.success) throw new BadRequest(`Invalid request for ${op}: ${z.prettifyError(parsed.error)}`);
    const handler = this.handlers[op] as (req: unknown) => unknown;
    // every file a request names passes the one path policy before any handler sees it
    return await handler(checkNamedFiles(this, op, parsed.data));
  }

  emit<K extends EventName>(name: K, payload: Events[K]): void {
    for (const l of this.listeners) l({ name, payload } as EventMessage);
  }

  onEvent(listener: (m: EventMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resumes queued work (e.g. after a restart). */
  start(): void {
    this.runner.pump();
  }

  close(): void {
    this.runner.stopAll();
    this.db.close();
  }
}
