import type { RunKind } from '../../../src-shared/domain/runs';
import type { JobHandler } from '../context';
import { perceptronJob } from './perceptron';
import { marginsJob } from './margins';
import { trainJob } from './train';

export const jobHandlers: Partial<Record<RunKind, JobHandler>> = {
  perceptron: perceptronJob,
  margins: marginsJob,
  train: trainJob,
};
