/**
 * The data of one training run, read through the datasets service: the pool (training originals,
 * optionally only the first `train_subset`, plus the generated set), a fixed evaluation subset of
 * the test split, and the per-channel normalisation the model applies inside itself.
 */
import type { TrainConfig } from '../../../src-shared/domain/training';
import type { DatasetInfo } from '../../../src-shared/domain/datasets';
import type { EvalSet } from '../../engine/training';
import { TrainingPool } from '../datasets/pool';
import type { SplitReader } from '../datasets/reader';
import type { DatasetService } from '../datasets/service';

export interface RunData {
  dataset: DatasetInfo;
  generated: DatasetInfo | null;
  original: SplitReader;
  generatedReader: SplitReader | null;
  /** originals + generated */
  poolSize: number;
  /** Pool indices the run may train on (the subset), ascending. */
  candidates: Int32Array;
  test: EvalSet;
  inputShape: [number, number, number];
  numClasses: number;
  normalization: { mean: number[]; std: number[] };
  makePool(config: TrainConfig, kept: Int32Array, radii: Float32Array | null): TrainingPool;
  /** Images (floats in [0, 1]) and labels of the given pool indices. */
  read(indices: ArrayLike<number>): { x: Float32Array; y: Int32Array; shape: [number, number, number, number] };
  close(): void;
}

export function openRunData(datasets: DatasetService, config: TrainConfig): RunData {
  const dataset = datasets.get(config.dataset);
  if (dataset.generatedFor != null)
    throw new Error(`Dataset "${dataset.name}" is a generated set; train on its base dataset and set generated = "${dataset.name}"`);
  if (!dataset.splits.train) throw new Error(`Dataset "${dataset.name}" has no training split`);
  if (!dataset.splits.test) throw new Error(`Dataset "${dataset.name}" has no test split to evaluate on`);
  const generated = config.generated != null ? datasets.get(config.generated) : null;
  if (generated && generated.generatedFor !== dataset.id) throw new Error(`Dataset "${generated.name}" is not a generated set of "${dataset.name}"`);
  const original = datasets.openSplit(dataset.id, 'train');
  const generatedReader = generated ? datasets.openSplit(generated.id, generated.splits.train ? 'train' : 'test') : null;
  const test = datasets.openSplit(dataset.id, 'test');
  try {
    const [h, w, c] = dataset.shape;
    const d = h * w * c;
    const subset = Math.min(config.train_subset ?? original.count, original.count);
    const poolSize = original.count + (generatedReader?.count ?? 0);
    const candidates = new Int32Array(subset + (generatedReader?.count ?? 0));
    for (let i = 0; i < subset; i++) candidates[i] = i;
    for (let j = 0; j < (generatedReader?.count ?? 0); j++) candidates[subset + j] = original.count + j;

    const nTest = Math.min(config.eval_subset ?? test.count, test.count);
    const testBytes = test.readRange(0, nTest);
    const testSet: EvalSet = {
      images: Float32Array.from(testBytes, (v) => v / 255),
      labels: Int32Array.from(test.labels.subarray(0, nTest)),
      shape: [nTest, h, w, c],
    };

    // Per-channel statistics of (up to 10k) training originals: the model normalises inside.
    const statCount = Math.min(subset, 10_000);
    const bytes = original.readRange(0, statCount);
    const sum = new Float64Array(c);
    const sq = new Float64Array(c);
    for (let i = 0; i < bytes.length; i++) {
      const v = bytes[i]! / 255;
      sum[i % c]! += v;
      sq[i % c]! += v * v;
    }
    const per = statCount * h * w;
    const mean = Array.from(sum, (s) => s / per);
    const std = Array.from(sq, (s, k) => Math.max(1e-3, Math.sqrt(Math.max(0, s / per - mean[k]! ** 2))));

    const read = (indices: ArrayLike<number>) => {
      const n = indices.length;
      const x = new Float32Array(n * d);
      const y = new Int32Array(n);
      const one = new Uint8Array(d);
      for (let k = 0; k < n; k++) {
        const p = indices[k]!;
        const fromOriginal = p < original.count;
        const reader = fromOriginal ? original : generatedReader!;
        const i = fromOriginal ? p : p - original.count;
        const src = reader.memoryView(i) ?? reader.readRange(i, 1, one);
        for (let t = 0; t < d; t++) x[k * d + t] = src[t]! / 255;
        y[k] = reader.labels[i]!;
      }
      return { x, y, shape: [n, h, w, c] as [number, number, number, number] };
    };

    return {
      dataset,
      generated,
      original,
      generatedReader,
      poolSize,
      candidates,
      test: testSet,
      inputShape: [h, w, c],
      numClasses: dataset.classes.length,
      normalization: { mean, std },
      makePool: (cfg, kept, radii) =>
        new TrainingPool(original, generatedReader, {
          batchSize: cfg.batch_size,
          generatedShare: cfg.generated_share,
          samplesPerEpoch: cfg.epoch_size ?? undefined,
          augment: cfg.augment ?? undefined,
          seed: cfg.seed,
          kept,
          radii: radii ?? undefined,
        }),
      read,
      close: () => {
        original.close();
        generatedReader?.close();
      },
    };
  } finally {
    test.close();
  }
}
