import type { RunKind } from '../../src-shared/domain/runs';
import type { JobHandler } from './context';
import { perceptronJob } from './perceptron/job';
import { marginsJob } from './margins/job';
import { trainJob } from './train/job';
import { modelsJob } from './models/job';

/** The body of each run kind that runs as a job; each kind's home is src-main/jobs/<kind>/. */
export const jobHandlers: Partial<Record<RunKind, JobHandler>> = {
  perceptron: perceptronJob,
  margins: marginsJob,
  train: trainJob,
  models: modelsJob,
};
