import type { trainingOperations } from '../../../src-shared/api/ops/training';
import { ConfigError } from '../../../src-shared/domain/field-errors';
import { BadRequest, type DomainHandlers, type PumaApp } from '../app';
import { listPresets } from './presets';
import { estimateTraining } from './estimate';
import { TrainingService } from './service';

export function trainingHandlers(app: PumaApp): DomainHandlers<keyof typeof trainingOperations> {
  let service: TrainingService | null = null;
  const svc = () => (service ??= new TrainingService(app));
  const asBadRequest = (e: unknown): never => {
    throw e instanceof ConfigError || (e instanceof Error && /does not exist|only .* runs|is not imported/.test(e.message)) ? new BadRequest(e.message) : e;
  };
  return {
    'training.presets': () => listPresets(),
    'training.start': async (req) => {
      try {
        const { runId, config } = await svc().start(req.config, req.name);
        return { runId, config: config as unknown as Record<string, unknown> };
      } catch (e) {
        return asBadRequest(e);
      }
    },
    'training.estimate': (req) => {
      try {
        return estimateTraining(app, svc().datasets, req.config);
      } catch (e) {
        return asBadRequest(e);
      }
    },
    'training.resume': (req) => {
      try {
        return svc().resume(req.id);
      } catch (e) {
        return asBadRequest(e);
      }
    },
  };
}
