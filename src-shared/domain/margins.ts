import { z } from 'zod';
import { SplitName } from './datasets';
import type { RunKind } from './runs';

export const MarginMethod = z.enum(['deepfool', 'fast']);
export type MarginMethod = z.infer<typeof MarginMethod>;
export const MarginNorm = z.enum(['linf', 'l2']);
export type MarginNorm = z.infer<typeof MarginNorm>;

/** Estimator parameters; part of a margin set's identity (defaults filled in before hashing). */
export const MarginParams = z
  .object({
    norm: MarginNorm.default('linf'),
    /** DeepFool. */
    overshoot: z.number().min(0).max(1).default(0.02),
    maxIter: z.number().int().min(1).max(1000).default(50),
    candidates: z.number().int().min(2).max(1000).default(10),
    /**
     * Fast margin (Algorithm 1): BIM step α, most steps, bisection steps. The bisection over the
     * segment fraction sets the precision (2^-jMax of the segment), so α only has to find a flipped
     * point: on Fashion-MNIST α = 4/255 keeps 96 % of samples within 20 % of DeepFool (rank
     * correlation 0.996, same as α = 1/255) at a quarter of the gradient evaluations
     * (bench/margins-fast-params.ts).
     */
    stepSize: z
      .number()
      .positive()
      .max(1)
      .default(4 / 255),
    iMax: z.number().int().min(1).max(10000).default(40),
    jMax: z.number().int().min(0).max(64).default(8),
  })
  .strict();
export type MarginParams = z.infer<typeof MarginParams>;

/** One margin job: a dataset part (dataset + split) × margin model × method × parameters. */
export const MarginJobConfig = z
  .object({
    datasetId: z.number().int().positive(),
    split: SplitName.default('train'),
    modelId: z.number().int().positive(),
    method: MarginMethod,
    params: MarginParams.default(MarginParams.parse({})),
    /** ε of `fraction_below_eps` and the histogram lines; not part of the identity. */
    eps: z.number().positive().max(1).optional(),
    chunkSize: z.number().int().min(1).max(100000).default(1024),
    batchSize: z.number().int().min(1).max(4096).default(256),
    /** Worker processes sharing the chunks (one per core). */
    workers: z.number().int().min(1).max(64).default(1),
    backend: z.string().optional(),
    /** Filled in by the service: the margin set the job fills. */
    marginSetId: z.number().int().positive().optional(),
  })
  .strict();
export type MarginJobConfig = z.infer<typeof MarginJobConfig>;
export type MarginJobConfigInput = z.input<typeof MarginJobConfig>;

export interface MarginQuantiles {
  p01: number;
  p10: number;
  p50: number;
  p90: number;
  p99: number;
}

export interface MarginSetSummary {
  count: number;
  mean: number;
  quantiles: MarginQuantiles;
  fraction_negative: number;
  fraction_below_eps: number | null;
}

export type MarginSetStatus = 'pending' | 'complete';

export interface MarginSetInfo {
  id: number;
  datasetId: number;
  split: SplitName;
  modelId: number;
  method: MarginMethod;
  params: MarginParams;
  /** sha256 of the canonical (dataset, split, model, method, params) key. */
  key: string;
  count: number;
  chunkSize: number;
  chunksDone: number;
  chunksTotal: number;
  status: MarginSetStatus;
  /** Float32 `.npy` of the margins in dataset order, once complete. */
  file: string | null;
  summary: MarginSetSummary | null;
  gradEvalsPerSample: number | null;
  samplesPerSecond: number | null;
  lastRunId: number | null;
  /** The run that computed the set: a margins job, or the train run (PUMA, PE/PD) that needed it. */
  runId: number | null;
  /** Its kind ('margins' or 'train'; null when the run was deleted). */
  runKind: RunKind | null;
  /** How many train runs trained with it (their results name it). */
  trainRuns: number;
  /** A train run's set covers its pool: the first `subset` samples of the split (null: all)… */
  subset: number | null;
  /** …followed by every sample of this generated dataset (null: none). */
  generatedId: number | null;
  createdAt: string;
  completedAt: string | null;
}

/** Histogram of a margin set for the Margins page. */
export interface MarginHistogram {
  edges: number[];
  counts: number[];
  eps: number | null;
}

/** Highest- and lowest-margin samples, with their uint8 HWC pixels. */
export interface MarginGalleryItem {
  index: number;
  label: number;
  margin: number;
  image: number[];
}
export interface MarginGallery {
  width: number;
  height: number;
  channels: number;
  classes: string[];
  lowest: MarginGalleryItem[];
  highest: MarginGalleryItem[];
}

/** One sample of a run's selection: its place in the set, true and predicted class, margin and ε_i. */
export interface SelectionItem {
  /** Index in the margin set (the run's pool order). */
  index: number;
  /** Which dataset it comes from and its index there. */
  datasetId: number;
  datasetIndex: number;
  label: number;
  /** Class the margin model predicts; null when no margin model could be loaded (see `predictionNote`). */
  predicted: number | null;
  margin: number;
  /** ε_i it trained with (PUMA); null for strategies without per-sample radii or for pruned samples. */
  radius: number | null;
  image: number[];
}

/**
 * What a train run did with a margin set (recomputed from its config and the set with the run's
 * seed): kept vs pruned, the ε_i of the kept samples (Eq. 2/3), the anti-adversarial ones (ε_i < 0),
 * and sample galleries. Margins and ε are L∞ distances in the data's [0, 1] pixel scale.
 */
export interface MarginSelection {
  marginSetId: number;
  runId: number;
  runName: string;
  /** Every train run that trained with the set, newest first. */
  usedBy: number[];
  strategy: string;
  pruneRatio: number;
  /** ε of Eq. 2 (null for strategies without radii) and the gap g of Eq. 3. */
  eq2Eps: number | null;
  gap: number;
  /** The run's training ε. */
  eps: number;
  poolSize: number;
  kept: number;
  pruned: number;
  antiAdversarial: number;
  meanRadius: number | null;
  /** Whether the recomputed kept count equals the one the run stored (null: the run stored none). */
  matchesRun: boolean | null;
  /** Margins of the pool, split into kept and pruned over the same bins. */
  marginHistogram: { edges: number[]; kept: number[]; pruned: number[]; eps: number | null };
  /** ε_i of the kept samples over [−ε, ε] (null when the strategy trains every sample at ε). */
  radiusHistogram: { edges: number[]; counts: number[] } | null;
  width: number;
  height: number;
  channels: number;
  classes: string[];
  /** The margin model that predicted the classes, or why none did. */
  predictedBy: { modelId: number; name: string } | null;
  predictionNote: string | null;
  galleries: { pruned: SelectionItem[]; kept: SelectionItem[]; antiAdversarial: SelectionItem[] };
}
