import { z } from 'zod';
import { EvaluateModelRequest, ImportModelRequest, MODEL_EXPORT_FORMATS, type ModelExportResult, type ModelInfo } from '../../domain/models';
import { TRAIN_ARCHITECTURES, TRAIN_METHODS } from '../../domain/training';
import { empty, Id, res } from './common';

export const modelOperations = {
  'models.list': { request: empty, response: res<ModelInfo[]>() },
  'models.get': { request: z.object({ id: Id }).strict(), response: res<ModelInfo>() },
  /**
   * Checks the file, the name and the dataset at once (a refused file is a 400), then queues a
   * `models` run that imports (and evaluates) it: its progress, Cancel and end are the run's;
   * a finished run's result is `{ model_id }`.
   */
  'models.import': { request: ImportModelRequest, response: res<{ runId: number }>() },
  /** Queues a `models` run that measures the model's accuracy on a dataset and stores it. */
  'models.evaluate': { request: EvaluateModelRequest, response: res<{ runId: number }>() },
  /**
   * Starts adversarial training of a margin model (a train run tagged "margin-model"); when the run
   * finishes its final EMA model is registered as a margin model with the run's accuracy.
   */
  'models.train': {
    request: z
      .object({
        name: z.string().min(1).max(200),
        arch: z.enum(TRAIN_ARCHITECTURES).default('cnn-small'),
        dataset: z.union([Id, z.string().min(1)]).default('fashion-mnist'),
        epochs: z.number().int().min(1).max(1000).default(2),
        method: z.enum(TRAIN_METHODS).default('pgd_at'),
        eps: z.number().min(0).max(1).default(0.1),
        /** Optional extra training-config keys (e.g. attack_steps, batch_size, train_subset). */
        extra: z.record(z.string(), z.unknown()).optional(),
      })
      .strict(),
    response: res<{ runId: number }>(),
  },
  /** Writes a PyTorch-imported model as a PyTorch state_dict (`out`, in a folder that exists) plus `<out>.json`. */
  'models.export': {
    request: z.object({ id: Id, format: z.enum(MODEL_EXPORT_FORMATS), out: z.string().min(1).max(4096) }).strict(),
    response: res<ModelExportResult>(),
  },
  /**
   * Queues a `models` run that registers a finished train run's final EMA model as a margin model
   * (idempotent: the run's result names the model already registered).
   */
  'models.addTrainRun': { request: z.object({ runId: Id, name: z.string().min(1).max(200).optional() }).strict(), response: res<{ runId: number }>() },
} as const;
