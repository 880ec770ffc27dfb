import { z } from 'zod';
import { SplitName } from './datasets';

/** Where a margin model came from. */
export const ModelSource = z.enum(['imported', 'trained']);
export type ModelSource = z.infer<typeof ModelSource>;

/** PyTorch families `puma models import --arch` reads (engine/models/pytorch/families.ts builds them). */
export const PYTORCH_ARCHS = ['resnet18', 'preact-resnet18', 'wrn', 'dm-wrn', 'dm-preact-resnet18'] as const;
export type PytorchArch = (typeof PYTORCH_ARCHS)[number];
/** File names read as PyTorch checkpoints (anything else is a TF.js model.json or its folder). */
export const PYTORCH_EXTENSIONS = ['.pt', '.pth', '.safetensors'] as const;
export const isPytorchFile = (file: string): boolean => PYTORCH_EXTENSIONS.some((e) => file.trim().toLowerCase().endsWith(e));

/** What `puma models import` and the Models page send. */
export const ImportModelRequest = z
  .object({
    /** A TF.js Layers `model.json` (or its folder), or a PyTorch `.pt`/`.pth`/`.safetensors` checkpoint. */
    path: z.string().min(1),
    /** PyTorch checkpoints: the family, or `auto` (from the key names); ignored for TF.js models. */
    arch: z.enum(['auto', ...PYTORCH_ARCHS]).optional(),
    /** PyTorch checkpoints: `none`, `cifar10`, `cifar100` or `M1,M2,M3/S1,S2,S3`; default the file's or the family's. */
    normalize: z.string().trim().min(1).max(200).optional(),
    name: z.string().trim().min(1).max(200),
    /** Dataset (id or name) whose test split gives the clean (and robust) accuracy. */
    evaluateOn: z.union([z.number().int().positive(), z.string().min(1)]).optional(),
    /** L∞ radius of the PGD robust accuracy; skipped when absent. */
    robustEps: z.number().positive().max(1).optional(),
    /** Test samples evaluated (the first N); default all. */
    evaluateCount: z.number().int().positive().optional(),
  })
  .strict();
export type ImportModelRequest = z.infer<typeof ImportModelRequest>;
export type ImportModelRequestInput = z.input<typeof ImportModelRequest>;

/** What a model evaluation (`models.evaluate`) measures. */
export const EvaluateModelRequest = z
  .object({
    id: z.number().int().positive(),
    dataset: z.union([z.number().int().positive(), z.string().min(1)]),
    count: z.number().int().positive().optional(),
    robustEps: z.number().positive().max(1).optional(),
  })
  .strict();

/**
 * The config of a `models` run (src-main/jobs/models/job.ts): model work that loads TF.js and
 * would freeze the main process — an import (with its optional evaluation), an evaluation, or
 * the registration of a finished train run's final model.
 */
export const ModelJobConfig = z.discriminatedUnion('op', [
  z.object({ op: z.literal('import'), request: ImportModelRequest }).strict(),
  z.object({ op: z.literal('evaluate'), request: EvaluateModelRequest }).strict(),
  z.object({ op: z.literal('addTrainRun'), runId: z.number().int().positive(), name: z.string().min(1).max(200).optional() }).strict(),
]);
export type ModelJobConfig = z.infer<typeof ModelJobConfig>;

/** The result a finished `models` run records: the model it created, evaluated or registered. */
export interface ModelJobResult {
  model_id: number;
}

/** Formats `models export` writes (a PyTorch state_dict). */
export const MODEL_EXPORT_FORMATS = ['pt', 'safetensors'] as const;
export type ModelExportFormat = (typeof MODEL_EXPORT_FORMATS)[number];

/** What `puma models export` and the Models page's export get back: the file and its JSON sidecar. */
export interface ModelExportResult {
  file: string;
  sidecar: string;
  format: ModelExportFormat;
  /** Tensors in the state_dict. */
  keys: number;
}

export const ModelAccuracy = z.object({
  datasetId: z.number().int().positive(),
  split: SplitName,
  count: z.number().int().nonnegative(),
  clean: z.number(),
  /** PGD-20 L∞ accuracy at `robustEps`; null when not measured. */
  robust: z.number().nullable(),
  robustEps: z.number().nullable(),
});
export type ModelAccuracy = z.infer<typeof ModelAccuracy>;

/** One margin model in the log. Files (model.json + weights) live in `storageDir`. */
export interface ModelInfo {
  id: number;
  name: string;
  source: ModelSource;
  /**
   * Provenance: the imported path, or the training run. `role` 'margin_model': trained inside run
   * `runId` to give its margins (PUMA, PE/PD); otherwise the run's final EMA model.
   */
  provenance: {
    importedFrom?: string;
    runId?: number;
    architecture?: string;
    note?: string;
    role?: 'final' | 'margin_model';
    datasetId?: number;
    /**
     * Imported PyTorch models: depth/width read from the shapes, the normalisation inside the model
     * (null: none), and each TF.js layer's PyTorch module (what `models export` writes back).
     */
    pytorch?: { depth: number; width: number; normalization: { mean: number[]; std: number[] } | null; layers?: Record<string, string> };
  };
  inputShape: [number, number, number];
  numClasses: number;
  /** True when a final softmax was found in the import and dropped (models output logits). */
  droppedSoftmax: boolean;
  hash: string;
  storageDir: string;
  params: number;
  accuracy: ModelAccuracy | null;
  createdAt: string;
}

/** What registering a model needs (the log assigns id and time). */
export type NewModelInfo = Omit<ModelInfo, 'id' | 'createdAt'>;
