import { z } from 'zod';
import { BadRequest } from '../../src-shared/api/errors';
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
import { DatasetImports, type PathPicker } from './datasets/handlers';
import { DatasetService } from './datasets/service';
import { ExperimentService } from './experiments';
import { createHandlers } from './handlers';
import { MarginService } from './margins/service';
import { MarginModelRegistry } from './models/registry';
import { ModelService } from './models/service';
import { checkNamedFiles, PathPolicy } from './path-policy';
import { recordRunArtifacts } from './training/artifacts';
import { TrainingService } from './training/service';
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
 * thin transports over `dispatch`; none has logic of its own. This is the one place that builds
 * the services: each once, each given only what it uses; handlers and CLI commands take them from here.
 */
export class PumaApp {
  readonly db: Db;
  readonly runs: RunsRepo;
  readonly runner: JobRunner;
  readonly dataDir: string;
  readonly paths: PathPolicy;
  readonly datasets: DatasetService;
  readonly datasetImports: DatasetImports;
  readonly models: ModelService;
  readonly marginModels: MarginModelRegistry;
  readonly margins: MarginService;
  readonly training: TrainingService;
  readonly experiments: ExperimentService;
  /** The native open dialog behind 'dialog.pickPath'; set by the Electron entry only. */
  pathPicker: PathPicker | null = null;
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

    this.paths = new PathPolicy(this);
    this.datasets = new DatasetService(this.db, this.dataDir);
    this.datasetImports = new DatasetImports((name, payload) => this.emit(name, payload));
    this.models = new ModelService(this.db, this.dataDir, this.datasets);
    this.marginModels = new MarginModelRegistry(this.runs, this.models, (kind, config, name) => this.startRun(kind, config, name));
    this.margins = new MarginService(this.db, this.datasets, this.models, (kind, config, name) => this.startRun(kind, config, name));
    this.training = new TrainingService(this, this.datasets);
    this.experiments = new ExperimentService(this, this.training);
    // A margin-model train run that finishes while the app runs becomes a margin model right away.
    this.onEvent((m) => {
      if (m.name !== 'run.status' || (m.payload as Events['run.status']).status !== 'finished') return;
      try {
        this.marginModels.registerFinished((m.payload as Events['run.status']).runId);
      } catch (e) {
        console.error(`src-main/services/app.ts: registering margin models: ${(e as Error).message}`);
      }
    });
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
    return await handler(checkNamedFiles(this.paths, op, parsed.data));
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
    this.marginModels.registerFinished(); // margin-model runs that finished while no app was watching
    this.runner.pump();
  }

  close(): void {
    this.runner.stopAll();
    this.db.close();
  }
}
