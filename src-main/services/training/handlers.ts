import type { trainingOperations } from '../../../src-shared/api/ops/training';
import type { RunsRepo } from '../../store/repos/runs';
import type { DomainHandlers } from '../app';
import { listPresets } from './presets';
import { estimateTraining } from './estimate';
import type { TrainingService } from './service';

export function trainingHandlers({ training, runs }: { training: TrainingService; runs: RunsRepo }): DomainHandlers<keyof typeof trainingOperations> {
  return {
    'training.presets': () => listPresets(),
    'training.start': async (req) => {
      const { runId, config } = await training.start(req.config, req.name);
      return { runId, config: config as unknown as Record<string, unknown> };
    },
    'training.estimate': (req) => estimateTraining(runs, training.datasets, req.config),
    'training.resume': (req) => training.resume(req.id),
  };
}
