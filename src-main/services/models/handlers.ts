import type { modelOperations } from '../../../src-shared/api/ops/models';
import { BadRequest, Conflict, NotFound } from '../../../src-shared/api/errors';
import type { ExperimentsRepo } from '../../store/repos/experiments';
import type { RunsRepo } from '../../store/repos/runs';
import type { DomainHandlers } from '../app';
import type { TrainingService } from '../training/service';
import { ensureEngine, MARGIN_MODEL_TAG, type MarginModelRegistry } from './registry';
import type { ModelService } from './service';

/** What the model operations use. */
export interface ModelHandlerDeps {
  models: ModelService;
  registry: MarginModelRegistry;
  training: TrainingService;
  experiments: ExperimentsRepo;
  runs: RunsRepo;
}

export function modelHandlers({ models, registry, training, experiments, runs }: ModelHandlerDeps): DomainHandlers<keyof typeof modelOperations> {
  return {
    'models.list': async () => {
      await registry.registerFinished();
      return models.list();
    },
    'models.get': (req) => models.get(req.id),
    'models.import': async (req) => {
      await ensureEngine();
      try {
        return await models.importModel(req);
      } catch (e) {
        // what is wrong with the chosen file (or the name) is the caller's to fix: 400, not 500
        throw e instanceof Error && e.constructor === Error ? new BadRequest(e.message) : e;
      }
    },
    'models.export': async (req) => {
      await ensureEngine();
      try {
        return await models.exportModel(req.id, req.format, req.out);
      } catch (e) {
        // a model with no PyTorch twin, a missing folder: the caller's to fix
        throw e instanceof Error && e.constructor === Error ? new BadRequest(e.message) : e;
      }
    },
    'models.evaluate': async (req) => {
      await ensureEngine();
      await models.evaluate(req.id, req.dataset, { count: req.count, robustEps: req.robustEps });
      return models.get(req.id);
    },
    'models.train': async (req) => {
      const clash = models.list().find((m) => m.name === req.name);
      if (clash) throw new Conflict(`A margin model named "${req.name}" already exists (id ${clash.id}); choose another name`);
      const config = { ...(req.extra ?? {}), arch: req.arch, dataset: req.dataset, epochs: req.epochs, method: req.method, eps: req.eps, strategy: 'none' };
      const { runId } = await training.start(config, `Margin model: ${req.name}`);
      experiments.setTagsNotes(runId, { tags: MARGIN_MODEL_TAG });
      return { runId };
    },
    'models.addTrainRun': async (req) => {
      await ensureEngine();
      if (!runs.exists(req.runId)) throw new NotFound(`Run ${req.runId} does not exist in the experiment log.`);
      return models.addTrainRun(runs.get(req.runId), req.name);
    },
  };
}
