import { z } from 'zod';
import { MarginJobConfig, type MarginGallery, type MarginHistogram, type MarginSetInfo } from '../../domain/margins';
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
  'margins.gallery': {
    request: z.object({ id: Id, count: z.number().int().min(1).max(256).optional() }).strict(),
    response: res<MarginGallery>(),
  },
} as const;
