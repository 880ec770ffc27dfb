import { z } from 'zod';

export const ModelId = z.number().int().positive();

/** Where a margin model came from. */
export const ModelSource = z.enum(['imported', 'trained']);
export type ModelSource = z.infer<typeof ModelSource>;

/** What `puma models import` and the Models page send. */
export const ImportModelRequest = z
  .object({
    /** A TF.js Layers `model.json`, or the folder holding it (weight files next to it). */
    path: z.string().min(1),
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

export const ModelAccuracy = z.object({
  datasetId: z.number().int().positive(),
  split: z.enum(['train', 'test']),
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
  provenance: { importedFrom?: string; runId?: number; architecture?: string; note?: string; role?: 'final' | 'margin_model'; datasetId?: number };
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
