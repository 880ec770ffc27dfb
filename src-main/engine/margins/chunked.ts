/**
 * Margins of a whole dataset, chunk by chunk, for a job process that commits each chunk as it
 * finishes and resumes from `startChunk` after a restart. Chunk k covers samples
 * [k·chunkSize, min((k+1)·chunkSize, count)).
 */
import * as tf from '@tensorflow/tfjs';
import type { ClassifierLike } from '../attacks/model';
import { computeDeepFoolMargins, type DeepFoolOptions, type MarginResult } from './deepfool';
import { computeFastMargins, type FastMarginOptions } from './fast';

const FILE = 'src-main/engine/margins/chunked.ts';

export interface MarginBatch {
  /** Row-major images in [0, 1], shape [n, h, w, c]. */
  x: Float32Array;
  y: Int32Array;
  shape: readonly number[];
}

export interface MarginChunkInfo {
  offset: number;
  count: number;
  gradEvals: number;
  forwardEvals: number;
  /** Samples whose prediction flipped within the budget. */
  converged: number;
  seconds: number;
}

export interface MarginProgress {
  /** Samples done, those of chunks skipped on resume included. */
  done: number;
  total: number;
  chunkIndex: number;
  chunks: number;
  /** Over the chunks computed in this call. */
  samplesPerSecond: number;
  gradEvalsPerSample: number;
}

export type MarginMethodSpec =
  { method: 'deepfool'; params?: Omit<DeepFoolOptions, 'returnPerturbed'> } | { method: 'fast'; params: Omit<FastMarginOptions, 'returnPerturbed'> };

export type ChunkedMarginOptions = MarginMethodSpec & {
  model: ClassifierLike;
  readBatch: (offset: number, count: number) => MarginBatch | Promise<MarginBatch>;
  count: number;
  chunkSize: number;
  /** Samples per model call inside a chunk (memory bound); default chunkSize. */
  batchSize?: number;
  startChunk?: number;
  onChunk: (chunkIndex: number, margins: Float32Array, info: MarginChunkInfo) => void | Promise<void>;
  onProgress?: (progress: MarginProgress) => void;
  signal?: AbortSignal;
};

export interface ChunkedMarginSummary {
  chunks: number;
  chunksComputed: number;
  samplesComputed: number;
  gradEvals: number;
  forwardEvals: number;
  seconds: number;
}

function checkInteger(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new Error(`${FILE}: ${name} must be an integer ≥ ${min}, got ${value}`);
}

function marginsOfBatch(spec: MarginMethodSpec, model: ClassifierLike, batch: MarginBatch): MarginResult {
  const [n, h, w, c] = batch.shape as [number, number, number, number];
  const x = tf.tensor4d(batch.x, [n, h, w, c]);
  try {
    return spec.method === 'deepfool' ? computeDeepFoolMargins(model, x, batch.y, spec.params) : computeFastMargins(model, x, batch.y, spec.params);
  } finally {
    x.dispose();
  }
}

export async function computeMarginsChunked(options: ChunkedMarginOptions): Promise<ChunkedMarginSummary> {
  const { model, readBatch, count, chunkSize, onChunk, onProgress, signal } = options;
  checkInteger('count', count, 0);
  checkInteger('chunkSize', chunkSize, 1);
  const batchSize = options.batchSize ?? chunkSize;
  checkInteger('batchSize', batchSize, 1);
  const startChunk = options.startChunk ?? 0;
  checkInteger('startChunk', startChunk, 0);
  if (options.method !== 'deepfool' && options.method !== 'fast') {
    throw new Error(`${FILE}: unknown margin method '${String((options as { method: unknown }).method)}'`);
  }
  if (options.method === 'fast' && !options.params) throw new Error(`${FILE}: the fast margin needs params {stepSize, iMax, jMax}`);
  const spec = { method: options.method, params: options.params } as MarginMethodSpec;

  const chunks = Math.ceil(count / chunkSize);
  const summary: ChunkedMarginSummary = { chunks, chunksComputed: 0, samplesComputed: 0, gradEvals: 0, forwardEvals: 0, seconds: 0 };
  const started = performance.now();

  for (let chunkIndex = startChunk; chunkIndex < chunks; chunkIndex++) {
    if (signal?.aborted) throw new Error(`${FILE}: margin computation aborted before chunk ${chunkIndex}`);
    const chunkStarted = performance.now();
    const offset = chunkIndex * chunkSize;
    const chunkCount = Math.min(chunkSize, count - offset);
    const margins = new Float32Array(chunkCount);
    const info: MarginChunkInfo = { offset, count: chunkCount, gradEvals: 0, forwardEvals: 0, converged: 0, seconds: 0 };

    for (let b = 0; b < chunkCount; b += batchSize) {
      const want = Math.min(batchSize, chunkCount - b);
      const batch = await readBatch(offset + b, want);
      const shape = batch.shape;
      if (shape.length !== 4 || shape[0] !== want) {
        throw new Error(`${FILE}: readBatch(${offset + b}, ${want}) returned shape [${shape.join(', ')}], expected [${want}, h, w, c]`);
      }
      if (batch.x.length !== shape.reduce((a, v) => a * v, 1) || batch.y.length !== want) {
        throw new Error(
          `${FILE}: readBatch(${offset + b}, ${want}) returned ${batch.x.length} pixel values and ${batch.y.length} labels for shape [${shape.join(', ')}]`,
        );
      }
      const result = marginsOfBatch(spec, model, batch);
      margins.set(result.margins, b);
      info.gradEvals += result.gradEvals;
      info.forwardEvals += result.forwardEvals;
      for (const v of result.converged) info.converged += v;
    }

    info.seconds = (performance.now() - chunkStarted) / 1000;
    await onChunk(chunkIndex, margins, info);
    summary.chunksComputed++;
    summary.samplesComputed += chunkCount;
    summary.gradEvals += info.gradEvals;
    summary.forwardEvals += info.forwardEvals;
    summary.seconds = (performance.now() - started) / 1000;
    onProgress?.({
      done: offset + chunkCount,
      total: count,
      chunkIndex,
      chunks,
      samplesPerSecond: summary.samplesComputed / Math.max(summary.seconds, 1e-9),
      gradEvalsPerSample: summary.gradEvals / summary.samplesComputed,
    });
    // Let the job process answer messages (cancel, status) between chunks.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}
