/**
 * Per-sample scores a pruning strategy needs, computed when missing and cached for reuse:
 *  - margins: from a stored .npy (margin_set), or the final EMA model of a train run
 *    (margin_model), or — when the user chose none, the paper's best setting (Appendix B) — a
 *    margin model trained first with the run's own architecture, method and data;
 *  - CD: from the per-epoch correctness a train run recorded (cd_run), or from a recording run
 *    trained first.
 * Cached under <dataDir>/training/scores/<key>.npy, where the key hashes everything they depend on.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { isScoredStrategy, type PruningScore, type TrainConfig } from '../../../src-shared/domain/training';
import { classificationDifficulty } from '../../../src-shared/method/scores';
import { computeMarginsChunked, readNpyFloat32, writeNpyFloat32 } from '../../engine/margins';
import { loadModel, trainModel, TrainingStopped } from '../../engine/training';
import type { RunData } from './data';
import { readMarginFile } from './margin-file';

export function scoreNeeded(c: TrainConfig): PruningScore | null {
  if (c.strategy === 'puma') return 'margin';
  if (isScoredStrategy(c.strategy)) return c.score;
  return null;
}

export interface ScoreResult {
  /** One score per candidate (RunData.candidates order). */
  values: Float32Array;
  source: string;
  path: string | null;
  /** The scores cache key (null for `margin_set`): also the key of the margin set the log records. */
  key: string | null;
  /** Folder of the margin model's final weights (trained helper or `margin_model` run); null for CD or `margin_set`. */
  modelDir: string | null;
  /** Clean test accuracy of a helper trained in this job (null when it came from the cache or elsewhere). */
  modelEval: { clean: number; count: number } | null;
}

export interface ScoreHooks {
  /** `fraction` of `phase` done (each phase its own 0 → 1), `rate` its throughput when known. */
  progress: (fraction: number, text: string, phase: 'margin_model' | 'cd_recording' | 'margins', rate?: number) => void;
  shouldStop: () => boolean;
}

/** The config of the helper run that trains the margin model or records CD. */
export function helperConfig(c: TrainConfig, recordCorrectness: boolean): TrainConfig {
  return {
    ...c,
    strategy: 'none',
    prune_ratio: 0,
    epochs: c.margin_model_epochs,
    record_correctness: recordCorrectness,
    eval_every: 0,
    // Only its clean accuracy is looked at (in the log): no attack, a small test subset.
    eval_subset: Math.min(c.eval_subset ?? 200, 200),
    eval_attack_steps: 0,
  };
}

function keyOf(parts: unknown): string {
  return crypto.createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 20);
}

function helperKey(c: TrainConfig, data: RunData, kind: PruningScore): string {
  const h = helperConfig(c, kind === 'cd');
  return keyOf({
    kind,
    dataset: data.dataset.hash,
    generated: data.generated?.hash ?? null,
    subset: data.candidates.length,
    marginMethod: kind === 'margin' ? c.margin_method : null,
    marginModel: c.margin_model,
    cdRun: c.cd_run,
    helper: c.margin_model == null && c.cd_run == null ? { ...h, backend: undefined, name: undefined } : null,
  });
}

/** The estimator a train run uses for its margins (also the identity of the margin set it records). */
export function runMarginSpec(c: TrainConfig, numClasses: number) {
  const eps = c.eq2_eps ?? c.eps;
  return c.margin_method === 'fast'
    ? // Steps of ε/2 reach 2.5ε in 5 steps (Eq. 2 clips at ε; PE only needs the order of the rest);
      // the bisection then locates the crossing within a 32nd of the segment.
      ({ method: 'fast', params: { stepSize: Math.max(eps / 2, 1e-3), iMax: 5, jMax: 5 } } as const)
    : ({ method: 'deepfool', params: { maxIter: 50, candidates: Math.min(10, numClasses) } } as const);
}

async function marginsWith(model: tf.LayersModel, c: TrainConfig, data: RunData, hooks: ScoreHooks): Promise<Float32Array> {
  const out = new Float32Array(data.candidates.length);
  const readBatch = (offset: number, count: number) => {
    const r = data.read(data.candidates.subarray(offset, offset + count));
    return { x: r.x, y: r.y, shape: r.shape };
  };
  const spec = runMarginSpec(c, data.numClasses);
  await computeMarginsChunked({
    ...spec,
    model,
    readBatch,
    count: out.length,
    // 256 per model call: the best throughput of the wasm kernels at MNIST sizes.
    chunkSize: 512,
    batchSize: 256,
    onChunk: (k, margins, info) => {
      out.set(margins, info.offset);
      if (hooks.shouldStop()) throw new Error('cancelled');
    },
    onProgress: (p) =>
      hooks.progress(p.done / p.total, `margins ${p.done} / ${p.total} (${p.samplesPerSecond.toFixed(0)} samples/s)`, 'margins', p.samplesPerSecond),
  });
  return out;
}

export async function computeScores(c: TrainConfig, data: RunData, dataDir: string, kind: PruningScore, hooks: ScoreHooks): Promise<ScoreResult> {
  if (kind === 'margin' && c.margin_set != null) {
    // sized, shaped and finite (checked when the run was configured too: the file may have changed)
    const values = readMarginFile(c.margin_set, { pool: data.poolSize, used: data.candidates.length });
    const none = { key: null, modelDir: null, modelEval: null };
    if (values.length === data.candidates.length) return { values, source: 'margin_set', path: c.margin_set, ...none };
    return { values: Float32Array.from(data.candidates, (p) => values[p]!), source: 'margin_set', path: c.margin_set, ...none };
  }
  const key = helperKey(c, data, kind);
  const root = path.join(dataDir, 'training', 'scores');
  const file = path.join(root, `${kind}-${key}.npy`);
  const helperDir = path.join(root, `${kind}-${key}-model`);
  // The model behind the margins: a `margin_model` run's final model, else the helper trained here.
  const modelDir =
    kind !== 'margin' ? null : c.margin_model != null ? path.join(dataDir, 'runs', String(c.margin_model), 'final') : path.join(helperDir, 'final');
  let modelEval: ScoreResult['modelEval'] = null;
  if (fs.existsSync(file)) {
    const { data: values } = readNpyFloat32(file);
    if (values.length === data.candidates.length)
      return { values, source: 'cache', path: file, key, modelDir: modelDir && fs.existsSync(modelDir) ? modelDir : null, modelEval };
  }
  fs.mkdirSync(root, { recursive: true });
  let values: Float32Array;
  let source: string;
  if (kind === 'cd' && c.cd_run != null) {
    values = cdFromRun(path.join(dataDir, 'runs', String(c.cd_run)), data);
    source = `run ${c.cd_run}`;
  } else if (kind === 'margin' && c.margin_model != null) {
    const dir = path.join(dataDir, 'runs', String(c.margin_model), 'final');
    if (!fs.existsSync(path.join(dir, 'model.json')))
      throw new Error(`margin_model: run ${c.margin_model} has no final model (${dir}); it must be a finished train run`);
    const model = await loadModel(dir);
    try {
      values = await marginsWith(model, c, data, hooks);
    } finally {
      model.dispose();
    }
    source = `model of run ${c.margin_model}`;
  } else {
    // Train the helper with the run's own architecture and data (kept across restarts by its checkpoints).
    const helper = helperConfig(c, kind === 'cd');
    const pool = data.makePool(helper, data.candidates, null);
    const res = await trainModel({
      config: helper,
      data: { pool, poolSize: data.poolSize, test: data.test, inputShape: data.inputShape, numClasses: data.numClasses, normalization: data.normalization },
      runDir: helperDir,
      hooks: {
        onBatch: (p) =>
          hooks.progress(
            p.globalStep / p.totalSteps,
            `${kind === 'margin' ? 'margin model' : 'CD recording'}: step ${p.globalStep} / ${p.totalSteps}, loss ${p.loss.toFixed(3)}`,
            kind === 'margin' ? 'margin_model' : 'cd_recording',
            p.imagesPerSecond,
          ),
        shouldStop: hooks.shouldStop,
        yieldEvery: 1,
      },
    }).catch((e: unknown) => {
      // The helper's own checkpoint is not the run's: report a plain cancel (resume continues the helper).
      throw e instanceof TrainingStopped ? new Error('cancelled') : e;
    });
    if (res.eval) modelEval = { clean: res.eval.clean_acc, count: data.test.labels.length };
    try {
      if (kind === 'margin') {
        values = await marginsWith(res.ema, c, data, hooks);
        source = `margin model trained for this run (${helper.arch}, ${helper.epochs} epochs, ${c.margin_method})`;
      } else {
        const cd = res.classificationDifficulty!;
        values = Float32Array.from(data.candidates, (p) => cd[p]!);
        source = `CD recorded over ${helper.epochs} epochs`;
      }
    } finally {
      res.live.dispose();
      res.ema.dispose();
    }
  }
  writeNpyFloat32(file, values);
  return { values, source, path: file, key, modelDir, modelEval };
}

/** CD of each candidate from a run's correctness/epoch-*.u8 files (0 unseen, 1 correct, 2 wrong). */
export function cdFromRun(runDir: string, data: Pick<RunData, 'candidates' | 'poolSize'>): Float32Array {
  const dir = path.join(runDir, 'correctness');
  const files = fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => /^epoch-\d+\.u8$/.test(f))
        .sort()
    : [];
  if (files.length === 0) throw new Error(`cd_run: ${dir} holds no per-epoch correctness; train that run with record_correctness = true`);
  const rows = files.map((f) => {
    const bytes = fs.readFileSync(path.join(dir, f));
    if (bytes.length !== data.poolSize) throw new Error(`${path.join(dir, f)}: ${bytes.length} samples, the pool has ${data.poolSize}`);
    return Array.from(data.candidates, (p) => bytes[p]!);
  });
  // Unseen draws (0) count as correct: a sample that was never drawn gives no evidence of difficulty.
  return classificationDifficulty(rows.map((r) => r.map((v) => v !== 2)));
}
