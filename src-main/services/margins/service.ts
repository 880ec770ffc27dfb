import fs from 'node:fs';
import {
  MarginJobConfig,
  MarginParams,
  type MarginGallery,
  type MarginHistogram,
  type MarginJobConfigInput,
  type MarginSetInfo,
  type MarginSetSummary,
} from '../../../src-shared/domain/margins';
import { readNpyFloat32, summarizeMargins } from '../../engine/margins';
import type { Db } from '../../store/db';
import { MarginsRepo } from '../../store/repos/margins';
import type { DatasetService } from '../datasets';
import type { ModelService } from '../models';
import { estimatorSpec, marginSetKey } from './key';
import { BadRequest, Conflict, NotFound } from '../../../src-shared/api/errors';

const FILE = 'src-main/services/margins/service.ts';

/** How the service queues a run (PumaApp.startRun). */
export type StartRun = (kind: 'margins', config: unknown, name: string) => number;

/** A job request; dataset and model by id or name. */
export type MarginStartInput = Omit<MarginJobConfigInput, 'datasetId' | 'modelId' | 'marginSetId'> & { datasetId: number | string; modelId: number | string };

export interface StartedMargins {
  marginSetId: number;
  /** null when the set was already complete (nothing to compute). */
  runId: number | null;
  set: MarginSetInfo;
}

/**
 * Margin sets: one per (dataset part, margin model, method, parameters). Starting a job for a set
 * that has committed chunks resumes it; starting one for a complete set returns it as is.
 */
export class MarginService {
  readonly repo: MarginsRepo;
  readonly datasets: DatasetService;
  readonly models: ModelService;

  constructor(
    db: Db,
    datasets: DatasetService,
    models: ModelService,
    private readonly startRun: StartRun,
  ) {
    this.repo = new MarginsRepo(db);
    this.datasets = datasets;
    this.models = models;
  }

  list(filter: { datasetId?: number; modelId?: number } = {}): MarginSetInfo[] {
    return this.repo.list(filter);
  }

  get(id: number): MarginSetInfo {
    const s = this.repo.get(id);
    if (!s) throw new NotFound(`No margin set with id ${id}`);
    return s;
  }

  /** Finds or creates the set and queues a job for its missing chunks. */
  start(input: MarginStartInput, name?: string): StartedMargins {
    const dataset = this.datasets.get(input.datasetId);
    const model = this.models.get(input.modelId);
    const parsed = MarginJobConfig.safeParse({ ...input, datasetId: dataset.id, modelId: model.id, params: MarginParams.parse(input.params ?? {}) });
    if (!parsed.success) {
      throw new Error(`Invalid margin job: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`).join('; ')}`);
    }
    const config = parsed.data;
    estimatorSpec(config.method, config.params); // rejects unsupported combinations early
    const split = dataset.splits[config.split];
    if (!split) throw new BadRequest(`Dataset "${dataset.name}" has no ${config.split} split`);
    if (model.inputShape.some((v, i) => v !== dataset.shape[i])) {
      throw new Error(
        `Margin model "${model.name}" takes [${model.inputShape.join(', ')}] images, dataset "${dataset.name}" has [${dataset.shape.join(', ')}]`,
      );
    }
    if (model.numClasses !== dataset.classes.length) {
      throw new Error(`Margin model "${model.name}" has ${model.numClasses} classes, dataset "${dataset.name}" has ${dataset.classes.length}`);
    }
    const key = marginSetKey(
      { datasetId: dataset.id, datasetHash: dataset.hash, split: config.split, modelId: model.id, modelHash: model.hash },
      config.method,
      config.params,
    );
    let set = this.repo.getByKey(key);
    if (!set) {
      const id = this.repo.create({
        datasetId: dataset.id,
        split: config.split,
        modelId: model.id,
        method: config.method,
        params: config.params,
        key,
        count: split.count,
        chunkSize: config.chunkSize,
      });
      set = this.get(id);
    }
    if (set.status === 'complete' && set.file && fs.existsSync(set.file)) return { marginSetId: set.id, runId: null, set };
    const runName =
      name ?? `Margins ${config.method}${config.method === 'deepfool' ? ` ${config.params.norm}` : ''}: ${dataset.name}/${config.split} × ${model.name}`;
    const runId = this.startRun('margins', { ...config, chunkSize: set.chunkSize, marginSetId: set.id }, runName);
    this.repo.setLastRun(set.id, runId);
    return { marginSetId: set.id, runId, set: this.get(set.id) };
  }

  /** The margins of a complete set, in dataset order. */
  read(id: number): Float32Array {
    const set = this.get(id);
    if (set.status !== 'complete' || !set.file) throw new Conflict(`Margin set ${id} is not complete (${set.chunksDone} / ${set.chunksTotal} chunks)`);
    const { data, shape } = readNpyFloat32(set.file);
    if (shape.length !== 1 || data.length !== set.count) throw new Error(`${set.file}: holds shape [${shape.join(', ')}], expected [${set.count}]`);
    return data;
  }

  summary(id: number, eps?: number): MarginSetSummary {
    return summarizeMargins(this.read(id), eps);
  }

  histogram(id: number, opts: { bins?: number; eps?: number } = {}): MarginHistogram {
    const margins = this.read(id);
    const bins = opts.bins ?? 60;
    if (!Number.isInteger(bins) || bins < 1 || bins > 1000) throw new Error(`${FILE}: bins must be an integer in [1, 1000], got ${bins}`);
    let lo = Infinity;
    let hi = -Infinity;
    for (const m of margins) ((lo = Math.min(lo, m)), (hi = Math.max(hi, m)));
    if (opts.eps !== undefined) ((lo = Math.min(lo, -opts.eps)), (hi = Math.max(hi, opts.eps)));
    if (!(hi > lo)) hi = lo + 1e-6;
    const width = (hi - lo) / bins;
    const counts = new Array<number>(bins).fill(0);
    for (const m of margins) counts[Math.min(bins - 1, Math.floor((m - lo) / width))]!++;
    return { edges: Array.from({ length: bins + 1 }, (_, i) => lo + i * width), counts, eps: opts.eps ?? null };
  }

  /** The `count` lowest- and highest-margin samples with their pixels and labels. */
  gallery(id: number, count = 12): MarginGallery {
    const set = this.get(id);
    const margins = this.read(id);
    const order = Array.from(margins.keys()).sort((a, b) => margins[a]! - margins[b]!);
    const k = Math.max(0, Math.min(count, 256, margins.length));
    const dataset = this.datasets.get(set.datasetId);
    const reader = this.datasets.openSplit(set.datasetId, set.split, { preload: false });
    // A train run's set may end with its generated set's samples (after the first `subset` of the split).
    const originals = set.subset ?? reader.count;
    const generated = set.generatedId !== null ? this.datasets.get(set.generatedId) : null;
    const extra = generated ? this.datasets.openSplit(generated.id, generated.splits.train ? 'train' : 'test', { preload: false }) : null;
    try {
      const at = (index: number): [typeof reader, number] => (index < originals || !extra ? [reader, index] : [extra, index - originals]);
      const item = (index: number) => ({
        index,
        label: at(index)[0].labels[at(index)[1]]!,
        margin: margins[index]!,
        image: Array.from(at(index)[0].readRange(at(index)[1], 1)),
      });
      return {
        height: dataset.shape[0],
        width: dataset.shape[1],
        channels: dataset.shape[2],
        classes: dataset.classes,
        lowest: order.slice(0, k).map(item),
        highest: order
          .slice(order.length - k)
          .reverse()
          .map(item),
      };
    } finally {
      reader.close();
      extra?.close();
    }
  }

  remove(id: number): void {
    const set = this.get(id);
    this.repo.remove(id);
    if (set.file) fs.rmSync(set.file, { force: true });
  }
}
