import type { modelOperations } from '../../../src-shared/api/ops/models';
import { BadRequest, Conflict, NotFound } from '../../../src-shared/api/errors';
import type { ExperimentsRepo } from '../../store/repos/experiments';
import type { RunsRepo } from '../../store/repos/runs';
import type { ModelJobConfig } from '../../../src-shared/domain/models';
import type { RunKind } from '../../../src-shared/domain/runs';
import type { DomainHandlers } from '../app';
import type { DatasetService } from '../datasets';
import type { TrainingService } from '../training/service';
import { ensureEngine, MARGIN_MODEL_TAG } from './registry';
import type { ModelService } from './service';

/** What the model operations use. */
export interface ModelHandlerDeps {
  models: ModelService;
  training: TrainingService;
  experiments: ExperimentsRepo;
  runs: RunsRepo;
  datasets: DatasetService;
  /** Queues a run (PumaApp.startRun). */
  startRun: (kind: RunKind, config: unknown, name: string) => number;
}

export function modelHandlers({ models, training, experiments, runs, datasets, startRun }: ModelHandlerDeps): DomainHandlers<keyof typeof modelOperations> {
  return {
    'models.list': () => models.list(),
    'models.get': (req) => models.get(req.id),
    // Import and evaluation load TF.js and run a PGD over a split: they run as `models` jobs
    // (jobs/models/job.ts) with progress and Cancel, and the answer is the queued run.
    'models.import': (req) => {
      try {
        models.checkImport(req);
      } catch (e) {
        // what is wrong with the chosen file (or the name) is the caller's to fix: 400, not 500
        throw e instanceof Error && e.constructor === Error ? new BadRequest(e.message) : e;
      }
      const config: ModelJobConfig = { op: 'import', request: req };
      return { runId: startRun('models', config, `Import model: ${req.name}`) };
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
    'models.evaluate': (req) => {
      const model = models.get(req.id);
      datasets.get(req.dataset);
      const config: ModelJobConfig = { op: 'evaluate', request: req };
      return { runId: startRun('models', config, `Evaluate model: ${model.name}`) };
    },
    'models.train': async (req) => {
      const clash = models.list().find((m) => m.name === req.name);
      if (clash) throw new Conflict(`A margin model named "${req.name}" already exists (id ${clash.id}); choose another name`);
      const config = { ...(req.extra ?? {}), arch: req.arch, dataset: req.dataset, epochs: req.epochs, method: req.method, eps: req.eps, strategy: 'none' };
      const { runId } = await training.start(config, `Margin model: ${req.name}`);
      experiments.setTagsNotes(runId, { tags: MARGIN_MODEL_TAG });
      return { runId };
    },
    'models.addTrainRun': (req) => {
      if (!runs.exists(req.runId)) throw new NotFound(`Run ${req.runId} does not exist in the experiment log.`);
      const run = runs.get(req.runId);
      if (!models.findByRun(run.id)) {
        try {
          models.checkTrainRun(run);
        } catch (e) {
          // not a finished train run with a final model: the caller asked for the wrong run
          throw e instanceof Error && e.constructor === Error ? new BadRequest(e.message) : e;
        }
      }
      const config: ModelJobConfig = { op: 'addTrainRun', runId: run.id, ...(req.name ? { name: req.name } : {}) };
      return { runId: startRun('models', config, `Register model of run ${run.id}`) };
    },
  };
}
