/**
 * The compute side of a margin job, shared by the job process and its extra worker processes:
 * load the model and the dataset part, then compute and commit the chunks it is given.
 */
import * as tf from '@tensorflow/tfjs';
import type { MarginJobConfig, MarginSetInfo } from '../../../src-shared/domain/margins';
import { computeMarginsChunked, type MarginBatch } from '../../engine/margins';
import type { Db } from '../../store/db';
import { MarginsRepo } from '../../store/repos/margins';
import { DatasetService } from '../datasets';
import { ModelService } from '../models';
import { estimatorSpec } from './key';

export interface ChunkDone {
  chunkIndex: number;
  count: number;
  gradEvals: number;
  seconds: number;
}

/**
 * Computes `chunkIndices` of margin set `set` and commits each to `margin_chunks` as it finishes.
 * `shouldStop` is polled between chunks.
 */
export async function computeAndCommitChunks(opts: {
  db: Db;
  dataDir: string;
  set: MarginSetInfo;
  config: Pick<MarginJobConfig, 'batchSize'>;
  chunkIndices: number[];
  onChunk?: (done: ChunkDone) => void;
  shouldStop?: () => boolean;
}): Promise<void> {
  const { db, dataDir, set } = opts;
  const repo = new MarginsRepo(db);
  const datasets = new DatasetService(db, dataDir);
  const models = new ModelService(db, dataDir, datasets);
  const model = await models.load(set.modelId);
  const reader = datasets.openSplit(set.datasetId, set.split);
  const shape = datasets.get(set.datasetId).shape;
  try {
    if (reader.count !== set.count) {
      throw new Error(
        `src-main/services/margins/compute.ts: dataset ${set.datasetId} ${set.split} has ${reader.count} samples, margin set ${set.id} was made for ${set.count}`,
      );
    }
    const readBatch = (offset: number, n: number): MarginBatch => {
      const bytes = reader.readRange(offset, n);
      const x = new Float32Array(bytes.length);
      for (let i = 0; i < bytes.length; i++) x[i] = bytes[i]! / 255;
      return { x, y: Int32Array.from(reader.labels.subarray(offset, offset + n)), shape: [n, shape[0], shape[1], shape[2]] };
    };
    for (const k of opts.chunkIndices) {
      if (opts.shouldStop?.()) return;
      await computeMarginsChunked({
        ...estimatorSpec(set.method, set.params),
        model,
        readBatch,
        // Exactly chunk k: start at k, stop at its end.
        count: Math.min((k + 1) * set.chunkSize, set.count),
        chunkSize: set.chunkSize,
        batchSize: Math.min(opts.config.batchSize, set.chunkSize),
        startChunk: k,
        onChunk: (chunkIndex, margins, info) => {
          repo.commitChunk(set.id, {
            chunkIndex,
            offset: info.offset,
            count: info.count,
            margins,
            gradEvals: info.gradEvals,
            forwardEvals: info.forwardEvals,
            converged: info.converged,
            seconds: info.seconds,
          });
          opts.onChunk?.({ chunkIndex, count: info.count, gradEvals: info.gradEvals, seconds: info.seconds });
        },
      });
    }
  } finally {
    reader.close();
    model.dispose();
    tf.disposeVariables();
  }
}
