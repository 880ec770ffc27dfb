// Messages between the main process and engine worker processes (child_process.fork with
// serialization 'advanced', so typed arrays travel without JSON encoding).
import type { CreateModelOptions } from './models';
import type { StepOptions } from './training/step';
import type { EvalCounts, EvalOptions } from './training/evaluate';

export type WorkerRequest =
  | { id: number; type: 'init'; backend?: string }
  | { id: number; type: 'model'; arch: string; options: CreateModelOptions }
  | {
      id: number;
      type: 'trainShard';
      /** All model weights (trainable and batch-norm statistics), in model.weights order. */
      weights: Float32Array[];
      x: Float32Array;
      xShape: number[];
      labels: Int32Array;
      /** The step's options for this shard (its radii, loss weights and random-start seed). */
      options: StepOptions;
    }
  | {
      id: number;
      type: 'evaluate';
      /** All model weights, in model.weights order. */
      weights: Float32Array[];
      images: Float32Array;
      labels: Int32Array;
      shape: [number, number, number, number];
      options: Omit<EvalOptions, 'onBatch'>;
    }
  | { id: number; type: 'exit' };

export type WorkerResponse =
  | { id: number; ok: true; type: 'init'; backend: string; device: string }
  | { id: number; ok: true; type: 'model'; trainableShapes: number[][] }
  | { id: number; ok: true; type: 'trainShard'; grads: Float32Array[]; loss: number; correct: Uint8Array; weightSum: number; ms: number }
  | { id: number; ok: true; type: 'evaluate'; counts: EvalCounts; ms: number }
  | { id: number; ok: false; error: string };
