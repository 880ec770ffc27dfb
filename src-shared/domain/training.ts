/**
 * The configuration of one adversarial training run (`puma train`, the Train page, the job).
 * Keys are snake_case because they are what users type in `--set key=value` and what exports
 * show. Numbers may be given as fractions in text ("8/255") wherever a radius is expected.
 */
import { z } from 'zod';
import type { PhaseProgress } from './phases';
import { fieldSpecs, parseWithDocs } from './field-errors';
import { BACKEND_CHOICES } from './backends';
import { MarginMethod } from './margins';
import { TRAIN_DOCS } from './parameter-docs';

export const TRAIN_ARCHITECTURES = ['mlp', 'cnn-small', 'resnet18', 'preact-resnet18', 'wrn'] as const;
export const TRAIN_METHODS = ['standard', 'pgd_at', 'trades'] as const;
export const PRUNING_STRATEGIES = ['none', 'random', 'pe', 'pd', 'pe_pd', 'puma', 'online_puma'] as const;
/** What PE / PD rank by: the margin (high = easy) or classification difficulty (high = difficult). */
export const PRUNING_SCORES = ['margin', 'cd'] as const;
export type PruningScore = (typeof PRUNING_SCORES)[number];
export type TrainMethod = (typeof TRAIN_METHODS)[number];
export type PruningStrategy = (typeof PRUNING_STRATEGIES)[number];
/** The strategies that prune by a per-sample score (`score`: the margin or CD). */
export const SCORED_STRATEGIES = ['pe', 'pd', 'pe_pd'] as const satisfies readonly PruningStrategy[];
export const isScoredStrategy = (s: PruningStrategy): s is (typeof SCORED_STRATEGIES)[number] => (SCORED_STRATEGIES as readonly string[]).includes(s);

/** "8/255", "0.1", 0.1 → a number; anything else is left for zod to reject. */
function fraction(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const m = /^\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*\/\s*(\d+(?:\.\d+)?)\s*$/i.exec(value);
  if (m) return Number(m[1]) / Number(m[2]);
  const n = Number(value);
  return value.trim() !== '' && Number.isFinite(n) ? n : value;
}

const radius = z.preprocess(fraction, z.number().finite().min(0).max(1));
const share = z.number().min(0).max(1);
const positiveInt = z.number().int().positive();

/**
 * Upper bounds on every count in a config: far past any real run, low enough that a typo or a
 * hostile value (epochs 1e12, a 12.5M-element milestone list) is refused before a run exists.
 */
export const TRAIN_LIMITS = {
  samples: 100_000_000,
  epochs: 10_000,
  batchSize: 65_536,
  width: 4096,
  depth: 1000,
  steps: 1000,
  listLength: 1000,
  logEvery: 1_000_000,
  seed: 2 ** 32 - 1,
  text: 4096,
} as const;
const upTo = (max: number) => positiveInt.max(max);
const stepsUpTo = z.number().int().min(0).max(TRAIN_LIMITS.steps);
const nameOrId = z.union([z.string().min(1).max(TRAIN_LIMITS.text), positiveInt]);

export const TrainConfig = z
  .object({
    /** Dataset name or id in the datasets service; "fashion-mnist" is imported from the system copy when missing. */
    dataset: nameOrId.default('fashion-mnist'),
    /** Generated set (name or id) attached to the dataset, mixed into every batch; null = originals only. */
    generated: nameOrId.nullable().default(null),
    generated_share: share.default(0.7),
    /** Use only the first N training originals (quick runs and tests); null = all. */
    train_subset: upTo(TRAIN_LIMITS.samples).nullable().default(null),
    /** Random crop + flip; null = on for colour images, off for 1-channel ones. */
    augment: z.boolean().nullable().default(null),

    arch: z.enum(TRAIN_ARCHITECTURES).default('cnn-small'),
    /** mlp: hidden units; resnets: base channels; wrn: widen factor. null = the architecture's default. */
    width: upTo(TRAIN_LIMITS.width).nullable().default(null),
    /** mlp: hidden layers; wrn: depth 6n+4. */
    depth: upTo(TRAIN_LIMITS.depth).nullable().default(null),

    method: z.enum(TRAIN_METHODS).default('trades'),
    beta: z.number().min(0).max(1000).default(6),
    label_smoothing: share.default(0),
    eps: radius.default(0.1),
    /** Attack steps during training and step size (null = 2.5·eps/steps). */
    attack_steps: stepsUpTo.default(10),
    attack_step_size: radius.nullable().default(null),

    strategy: z.enum(PRUNING_STRATEGIES).default('none'),
    prune_ratio: z.number().min(0).max(0.99).default(0),
    /** pe_pd: share pruned from the difficult end (prune_ratio is the easy end). */
    pd_ratio: z.number().min(0).max(0.99).default(0),
    /** Pruning score for pe / pd / pe_pd: the margin, or classification difficulty (CD). */
    score: z.enum(PRUNING_SCORES).default('margin'),
    /**
     * Threshold form instead of a ratio (pe / pd): pe+cd removes CD < t, pe+margin removes m > t,
     * pd+margin removes m < t (t = eps: "margin < ε"), pd+cd removes CD ≥ t.
     */
    threshold: z.preprocess(fraction, z.number().min(-1e6).max(1e6)).nullable().default(null),
    /** The ε of Eq. 2 (null = eps); the paper's Table 5 varies it. */
    eq2_eps: radius.nullable().default(null),
    /** Eq. 3 gap g (0 = Eq. 2). */
    gap: radius.default(0),
    /** Train run id whose final EMA model gives the margins; null = train one with this run's arch and data. */
    margin_model: positiveInt.nullable().default(null),
    /** A stored margins file (.npy, one float32 per pool sample); overrides margin_model. */
    margin_set: z.string().min(1).max(TRAIN_LIMITS.text).nullable().default(null),
    margin_method: MarginMethod.default('deepfool'),
    /** Epochs of the margin model (or the CD recording run) when the app trains it itself. */
    margin_model_epochs: upTo(TRAIN_LIMITS.epochs).default(2),
    /** Train run id that recorded per-sample correctness (for score = cd); null = record it first. */
    cd_run: positiveInt.nullable().default(null),
    /** Online PUMA: epochs without pruning, then prune samples still correct at margin m_P. */
    online_warmup_epochs: z.number().int().min(0).max(TRAIN_LIMITS.epochs).default(1),
    online_prune_margin: z.preprocess(fraction, z.number().min(-1e6).max(1e6)).nullable().default(null),
    online_search_steps: z.number().int().min(1).max(20).default(6),
    /** Record per-sample correctness every epoch (CD needs it). */
    record_correctness: z.boolean().default(false),

    lr: z.number().positive().max(100).default(0.1),
    momentum: z.number().min(0).max(0.999).default(0.9),
    nesterov: z.boolean().default(true),
    weight_decay: z.number().min(0).max(1).default(5e-4),
    schedule: z.enum(['onecycle', 'step', 'constant']).default('onecycle'),
    warmup_share: share.default(0.025),
    /** step schedule: fractions of training where lr is multiplied by step_gamma. */
    step_milestones: z.array(share).max(TRAIN_LIMITS.listLength).default([0.5, 0.75]),
    step_gamma: z.number().positive().max(1).default(0.1),
    /** EMA decay τ (0 = the EMA model is the live model). */
    ema_tau: z.number().min(0).max(1).default(0.995),

    batch_size: upTo(TRAIN_LIMITS.batchSize).default(128),
    /** Samples per epoch; null = every kept original once. */
    epoch_size: upTo(TRAIN_LIMITS.samples).nullable().default(null),
    epochs: upTo(TRAIN_LIMITS.epochs).default(5),
    eval_every: z.number().int().min(0).max(TRAIN_LIMITS.epochs).default(1),
    /** Evaluate on the first N test samples; null = the whole test set. */
    eval_subset: upTo(TRAIN_LIMITS.samples).nullable().default(1000),
    eval_attack_steps: stepsUpTo.default(40),
    /** null = eps/4. */
    eval_step_size: radius.nullable().default(null),
    eval_batch_size: upTo(TRAIN_LIMITS.batchSize).default(250),

    seed: z.number().int().min(0).max(TRAIN_LIMITS.seed).default(0),
    backend: z.enum(['auto', ...BACKEND_CHOICES]).default('auto'),
    /**
     * Processes that share each batch's training attack (wasm/cpu backends, which run on one
     * core each): 1 = this process only, 0 = one per CPU core. Native TensorFlow uses its own threads.
     */
    workers: z.number().int().min(0).max(16).default(1),
    /** Log a batch-level loss point every N batches (live curves). */
    log_every: upTo(TRAIN_LIMITS.logEvery).default(10),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.arch === 'wrn' && c.depth != null && (c.depth - 4) % 6 !== 0) {
      ctx.addIssue({ code: 'custom', path: ['depth'], message: `wrn depth must be 6n+4 (e.g. 16, 28), got ${c.depth}` });
    }
    if (c.strategy === 'pe_pd' && c.prune_ratio + c.pd_ratio >= 1) {
      ctx.addIssue({ code: 'custom', path: ['pd_ratio'], message: 'prune_ratio + pd_ratio must stay below 1' });
    }
    if (c.strategy === 'online_puma' && c.method === 'standard') {
      ctx.addIssue({ code: 'custom', path: ['method'], message: 'online_puma needs an adversarial method (pgd_at or trades)' });
    }
  });

export type TrainConfig = z.infer<typeof TrainConfig>;
export type TrainConfigInput = z.input<typeof TrainConfig>;

/** Parses a config, throwing an Error that names `source` and every bad key. */
export function parseTrainConfig(raw: unknown, source = 'training config'): TrainConfig {
  // A ConfigError: each problem names the field in words and suggests the closest key for a typo.
  return parseWithDocs(TrainConfig, raw, TRAIN_DOCS, source, fieldSpecs(TrainConfig, TRAIN_DOCS));
}

/** The three numbers every run reports, accuracies as fractions in [0, 1]. */
export interface TrainMetrics {
  clean_acc: number;
  robust_acc_pgd: number;
  robust_acc_cw: number;
}

export interface TrainRunResult {
  status: 'running' | 'finished';
  metrics: TrainMetrics | null;
  epochs_done: number;
  global_step: number;
  backend: string;
  device: string;
  seconds: number;
  /** Wall time per phase (margins, training, evaluation), seconds. */
  timings: Record<string, number>;
  images_per_second: number;
  checkpoints: string[];
  final_model: string | null;
  /** The checkpoint folder a resumed run continued from (null for a run that never stopped). */
  resumed_from: string | null;
  pruning: { pool_size: number; kept: number; strategy: PruningStrategy; anti_adversarial: number; mean_radius: number | null } | null;
  margins: { source: string; path: string | null; count: number } | null;
  /** The margin model and margin set the run made or reused, as the log knows them (null: none). */
  margin_model_id?: number | null;
  margin_set_id?: number | null;
  /** Each phase's time, fraction and status when the run stopped or finished. */
  phases?: PhaseProgress[];
}

export const PRESET_NAMES = ['laptop', 'paper'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];
/** The preset the Train and New experiment forms open with (minutes on a laptop). */
export const DEFAULT_PRESET: PresetName = 'laptop';

/** One saved checkpoint of a train run, as the job reports it and the log stores it. */
export interface TrainingCheckpointRecord {
  globalStep: number;
  epoch: number;
  batchInEpoch: number;
  /** Folder of the checkpoint (under <dataDir>/runs/<id>/checkpoints). */
  path: string;
}
