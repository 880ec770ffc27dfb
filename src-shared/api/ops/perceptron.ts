import { z } from 'zod';
import { PerceptronConfig } from '../../domain/perceptron';
import { res } from './common';

export const perceptronOperations = {
  'perceptron.start': {
    request: z.object({ config: PerceptronConfig, name: z.string().max(200).optional() }).strict(),
    response: res<{ runId: number }>(),
  },
} as const;
