import { runTrainingJob } from '../../services/training/run';
import type { JobHandler } from '../context';

/** Adversarial training (standard / PGD-AT / TRADES) with pruning and PUMA radii. */
export const trainJob: JobHandler = async (ctx, config) => {
  await runTrainingJob(ctx, config);
};
