import type { trainingOperations } from '../../../src-shared/api/ops/training';
import type { DomainHandlers, PumaApp } from '../app';
import { listPresets } from './presets';
import { estimateTraining } from './estimate';
import { TrainingService } from './service';

export function trainingHandlers(app: PumaApp): DomainHandlers<keyof typeof trainingOperations> {
  let service: TrainingService | null = null;
  const svc = () => (service ??= new TrainingService(app));
  return {
    'training.presets': () => listPresets(),
    'training.start': async (req) => {
      const { runId, config } = await svc().start(req.config, req.name);
      return { runId, config: config as unknown as Record<string, unknown> };
    },
    'training.estimate': (req) => {
      return estimateTraining(app, svc().datasets, req.config);
    },
    'training.resume': (req) => {
      return svc().resume(req.id);
    },
  };
}
