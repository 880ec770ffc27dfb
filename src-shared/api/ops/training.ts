import { z } from 'zod';
import type { PresetName } from '../../domain/training';
import type { TrainEstimate } from '../../method/estimate';
import { Id, res } from './common';

export const trainingOperations = {
  /** The named presets, as written in resources/presets (fractions such as "8/255" kept as text). */
  'training.presets': {
    request: z.object({}).strict(),
    response: res<Array<{ name: PresetName; description: string; config: Record<string, unknown> }>>(),
  },
  /** Validates a TrainConfig (defaults filled in), imports Fashion-MNIST when needed, queues the run. */
  'training.start': {
    request: z.object({ config: z.record(z.string(), z.unknown()), name: z.string().max(200).optional() }).strict(),
    response: res<{ runId: number; config: Record<string, unknown> }>(),
  },
  /**
   * How long a run of this config would take (null when neither the log nor README's benchmarks
   * have a throughput for its architecture and backend). An estimate; `basis` says from what.
   */
  'training.estimate': {
    request: z.object({ config: z.record(z.string(), z.unknown()) }).strict(),
    response: res<(TrainEstimate & { backend: string; workers: number }) | null>(),
  },
  /** Re-queues a cancelled / interrupted / failed train run; it continues from its latest checkpoint. */
  'training.resume': {
    request: z.object({ id: Id }).strict(),
    response: res<{ runId: number }>(),
  },
} as const;
