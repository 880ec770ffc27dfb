/**
 * Starting and resuming train runs. Validation, dataset resolution (Fashion-MNIST is imported from
 * the system copy, e.g. Debian's /usr/share/datasets/fashion-mnist, the first time it is needed)
 * and queueing happen here in the main process; the job process does the computing.
 */
import path from 'node:path';
import { metricInfo } from '../../../src-shared/domain/metrics';
import { parseTrainConfig, type TrainConfig } from '../../../src-shared/domain/training';
import { readLatestCheckpointPosition } from '../../engine/training/checkpoint';
import { BadRequest, Conflict, NotFound } from '../../../src-shared/api/errors';
import type { PumaApp } from '../app';
import type { DatasetService } from '../datasets/service';
import { marginSetIdsToFiles } from '../path-policy';
import { poolCounts, readMarginFile } from './margin-file';
import { runDirFor } from './run';

const RESUMABLE = new Set(['cancelled', 'interrupted', 'failed']);

/** What the training service uses of the app: the log, its runs and queue, and its events. */
export type TrainingHost = Pick<PumaApp, 'db' | 'runs' | 'runner' | 'dataDir' | 'options' | 'startRun' | 'emit'>;

export class TrainingService {
  constructor(
    private readonly app: TrainingHost,
    readonly datasets: DatasetService,
  ) {}

  /** The dataset exists, or is a system dataset of that name that gets imported now. */
  async ensureDataset(nameOrId: string | number): Promise<void> {
    try {
      this.datasets.get(nameOrId);
      return;
    } catch {
      /* not imported yet */
    }
    const system = typeof nameOrId === 'string' ? this.datasets.detectSystemDatasets().find((d) => d.name === nameOrId) : undefined;
    if (!system) {
      throw new BadRequest(
        `Dataset "${nameOrId}" is not imported${typeof nameOrId === 'string' && /fashion/i.test(nameOrId) ? " and no system copy was found (install Debian's dataset-fashion-mnist package or run `puma datasets download fashion-mnist`)" : ''}. Import it first (Datasets page or \`puma datasets import\`).`,
      );
    }
    await this.datasets.importDataset({ path: system.path, name: system.name, format: system.format });
  }

  async start(raw: unknown, name?: string, source = 'training config'): Promise<{ runId: number; config: TrainConfig }> {
    // margin_set may name a margin set of the log by id: the job reads that set's file
    const config = parseTrainConfig(marginSetIdsToFiles(this.app, raw), source);
    await this.ensureDataset(config.dataset);
    if (config.generated != null) this.datasets.get(config.generated);
    if (config.margin_model != null) this.checkTrainRun(config.margin_model, 'margin_model');
    if (config.cd_run != null) this.checkTrainRun(config.cd_run, 'cd_run');
    this.checkMarginSet(config);
    const label =
      name ??
      `${config.method} ${config.arch} ${config.strategy}${config.strategy !== 'none' ? ` ${Math.round(config.prune_ratio * 100)}%` : ''} (seed ${config.seed})`;
    const runId = this.app.startRun('train', config, label, { seed: config.seed });
    return { runId, config };
  }

  /**
   * A margins file is read when the run is configured (size, shape, one finite value per pool
   * sample), so a bad one is refused before any run row exists rather than failing each attempt.
   */
  checkMarginSet(config: TrainConfig): void {
    if (config.margin_set == null) return;
    try {
      readMarginFile(config.margin_set, poolCounts(this.datasets, config));
    } catch (e) {
      throw new BadRequest(`margin_set: ${(e as Error).message}`);
    }
  }

  private checkTrainRun(id: number, key: string): void {
    if (!this.app.runs.exists(id)) throw new BadRequest(`${key}: run ${id} does not exist`);
    const run = this.app.runs.get(id);
    if (run.kind !== 'train') throw new BadRequest(`${key}: run ${id} is a ${run.kind} run, not a train run`);
  }

  /** Re-queues the run; its job finds the latest checkpoint and continues exactly from there. */
  resume(id: number): { runId: number } {
    if (!this.app.runs.exists(id))
      throw new NotFound(`Run ${id} does not exist in the experiment log ${this.app.options.dbPath}; \`puma runs list\` (or the Runs page) shows its runs.`);
    const run = this.app.runs.get(id);
    if (run.kind !== 'train') throw new BadRequest(`Run ${id} is a ${run.kind} run; only train runs can be resumed (start the ${run.kind} run again instead).`);
    if (!RESUMABLE.has(run.status))
      throw new Conflict(
        `Run ${id} is ${run.status}; only cancelled, interrupted or failed runs can be resumed${run.status === 'finished' ? ' (start a new run to train again)' : ' (wait for it to stop, or cancel it first)'}.`,
      );
    // The job continues from the checkpoint on disk (none: from the start); what the stopped
    // attempt logged past it would be logged twice.
    const at = readLatestCheckpointPosition(path.join(runDirFor(this.app.dataDir, id), 'checkpoints')) ?? { globalStep: 0, epoch: 0 };
    this.app.runs.requeueFromCheckpoint(id, (key) => {
      const m = metricInfo(key);
      if (!m.known) return null;
      return m.x === 'step' ? at.globalStep : m.x === 'epoch' ? at.epoch : null;
    });
    this.app.emit('run.status', { runId: id, status: 'queued' });
    this.app.runner.pump();
    return { runId: id };
  }
}
