import type { modelOperations } from '../../../src-shared/api/ops/models';
import { BadRequest, type DomainHandlers, type PumaApp } from '../app';
import { initEngine } from '../../engine';
import { ExperimentsRepo } from '../../store/repos/experiments';
import { TrainingService } from '../training/service';
import { ModelService } from './service';

/** Tag of the train runs started as margin models (their final model is registered on finish). */
export const MARGIN_MODEL_TAG = 'margin-model';

const services = new WeakMap<PumaApp, ModelService>();
let engineReady: Promise<unknown> | null = null;

/** Importing and evaluating run tfjs in the main process: set its backend once. */
export const ensureEngine = () => (engineReady ??= initEngine());

const registering = new WeakMap<PumaApp, Promise<void>>();

/**
 * Registers every finished margin-model train run that has no margin model yet. Calls are
 * serialised per app: the run.status listener and models.list may both ask at once.
 */
export function registerFinishedMarginRuns(app: PumaApp): Promise<void> {
  const next = (registering.get(app) ?? Promise.resolve()).then(() => registerPending(app));
  registering.set(app, next.catch(() => {}));
  return next;
}

async function registerPending(app: PumaApp): Promise<void> {
  const models = modelServiceOf(app);
  const pending = app.runs
    .list({ kind: 'train' })
    .filter((r) => r.status === 'finished' && r.tags.split(/[\s,]+/).includes(MARGIN_MODEL_TAG) && !models.findByRun(r.id));
  if (pending.length === 0) return;
  await ensureEngine();
  for (const r of pending) {
    try {
      await models.addTrainRun(app.runs.get(r.id), r.name.replace(/^Margin model: /, ''));
    } catch (e) {
      // A run whose final model is gone stays listed among runs; it just never becomes a margin model.
      console.error(`src-main/services/models/handlers.ts: could not register run ${r.id}: ${(e as Error).message}`);
    }
  }
}

export function modelServiceOf(app: PumaApp): ModelService {
  let s = services.get(app);
  if (!s) {
    services.set(app, (s = new ModelService(app.db, app.dataDir)));
    // A margin-model train run that finishes while the app runs is registered right away.
    app.onEvent((m) => {
      if (m.name === 'run.status' && (m.payload as { status: string }).status === 'finished') registerFinishedMarginRuns(app).catch((e: Error) => console.error(`src-main/services/models/handlers.ts: ${e.message}`));
    });
  }
  return s;
}

export function modelHandlers(app: PumaApp): DomainHandlers<keyof typeof modelOperations> {
  return {
    'models.list': async () => {
      await registerFinishedMarginRuns(app);
      return modelServiceOf(app).list();
    },
    'models.get': (req) => modelServiceOf(app).get(req.id),
    'models.import': async (req) => {
      await ensureEngine();
      try {
        return await modelServiceOf(app).importModel(req);
      } catch (e) {
        // what is wrong with the chosen file (or the name) is the caller's to fix: 400, not 500
        throw e instanceof Error && e.constructor === Error ? new BadRequest(e.message) : e;
      }
    },
    'models.export': async (req) => {
      await ensureEngine();
      try {
        return await modelServiceOf(app).exportModel(req.id, req.format, req.out);
      } catch (e) {
        // a model with no PyTorch twin, a missing folder: the caller's to fix
        throw e instanceof Error && e.constructor === Error ? new BadRequest(e.message) : e;
      }
    },
    'models.evaluate': async (req) => {
      await ensureEngine();
      await modelServiceOf(app).evaluate(req.id, req.dataset, { count: req.count, robustEps: req.robustEps });
      return modelServiceOf(app).get(req.id);
    },
    'models.train': async (req) => {
      modelServiceOf(app); // subscribes to run completions
      const clash = modelServiceOf(app).list().find((m) => m.name === req.name);
      if (clash) throw new Error(`A margin model named "${req.name}" already exists (id ${clash.id}); choose another name`);
      const config = { ...(req.extra ?? {}), arch: req.arch, dataset: req.dataset, epochs: req.epochs, method: req.method, eps: req.eps, strategy: 'none' };
      const { runId } = await new TrainingService(app).start(config, `Margin model: ${req.name}`);
      new ExperimentsRepo(app.db).setTagsNotes(runId, { tags: MARGIN_MODEL_TAG });
      return { runId };
    },
    'models.addTrainRun': async (req) => {
      await ensureEngine();
      if (!app.runs.exists(req.runId)) throw new Error(`Run ${req.runId} does not exist in the experiment log.`);
      return modelServiceOf(app).addTrainRun(app.runs.get(req.runId), req.name);
    },
  };
}
