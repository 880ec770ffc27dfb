import type { modelOperations } from '../../../src-shared/api/ops/models';
import type { DomainHandlers, PumaApp } from '../app';
import { initEngine } from '../../engine';
import { ModelService } from './service';

const services = new WeakMap<PumaApp, ModelService>();
let engineReady: Promise<unknown> | null = null;

export function modelServiceOf(app: PumaApp): ModelService {
  let s = services.get(app);
  if (!s) services.set(app, (s = new ModelService(app.db, app.dataDir)));
  return s;
}

/** Importing and evaluating run tfjs in the main process: set its backend once. */
const ensureEngine = () => (engineReady ??= initEngine());

export function modelHandlers(app: PumaApp): DomainHandlers<keyof typeof modelOperations> {
  return {
    'models.list': () => modelServiceOf(app).list(),
    'models.get': (req) => modelServiceOf(app).get(req.id),
    'models.import': async (req) => {
      await ensureEngine();
      return modelServiceOf(app).importModel(req);
    },
    'models.evaluate': async (req) => {
      await ensureEngine();
      await modelServiceOf(app).evaluate(req.id, req.dataset, { count: req.count, robustEps: req.robustEps });
      return modelServiceOf(app).get(req.id);
    },
  };
}
