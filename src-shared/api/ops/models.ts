import { z } from 'zod';
import { ImportModelRequest, type ModelInfo } from '../../domain/models';
import { empty, Id, res } from './common';

export const modelOperations = {
  'models.list': { request: empty, response: res<ModelInfo[]>() },
  'models.get': { request: z.object({ id: Id }).strict(), response: res<ModelInfo>() },
  'models.import': { request: ImportModelRequest, response: res<ModelInfo>() },
  'models.evaluate': {
    request: z
      .object({ id: Id, dataset: z.union([Id, z.string().min(1)]), count: z.number().int().positive().optional(), robustEps: z.number().positive().max(1).optional() })
      .strict(),
    response: res<ModelInfo>(),
  },
} as const;
