import type { RunKind } from '../../../src-shared/domain/runs';
import type { JobHandler } from '../context';
import { perceptronJob } from './perceptron';

export const jobHandlers: Partial<Record<RunKind, JobHandler>> = {
  perceptron: perceptronJob,
};
