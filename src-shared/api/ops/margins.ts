import { z } from 'zod';
import { MarginJobConfig, type MarginGallery, type MarginHistogram, type MarginSelection, type MarginSetInfo } from '../../domain/margins';
import { Id, res } from './common';

export const marginOperations = {
  'margins.list': {
    request: z.object({ datasetId: Id.optional(), modelId: Id.optional() }).strict(),
    response: res<MarginSetInfo[]>(),
  },
  'margins.get': { request: z.object({ id: Id }).strict(), response: res<MarginSetInfo>() },
  /** Finds or creates the margin set and queues a job for its missing chunks (runId null: already complete). */
  'margins.start': {
    request: MarginJobConfig.omit({ marginSetId: true }),
    response: res<{ marginSetId: number; runId: number | null }>(),
  },
  'margins.histogram': {
    request: z.object({ id: Id, bins: z.number().int().min(1).max(1000).optional(), eps: z.number().positive().max(1).optional() }).strict(),
    response: res<MarginHistogram>(),
  },
  /**
   * A train run's selection for the set (default: the run that made it, else the newest run that
   * trained with it): kept vs pruned, ε_i of the kept samples, anti-adversarial ones, galleries.
   */
  'margins.selection': {
    request: z
      .object({ id: Id, runId: Id.optional(), count: z.number().int().min(1).max(64).optional(), bins: z.number().int().min(1).max(1000).optional() })
      .strict(),
    response: res<MarginSelection>(),
  },
  'margins.gallery': {
    request: z.object({ id: Id, count: z.number().int().min(1).max(256).optional() }).strict(),
    response: res<MarginGallery>(),
  },
} as const;
