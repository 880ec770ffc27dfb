import type { marginOperations } from '../../../src-shared/api/ops/margins';
import type { DomainHandlers, PumaApp } from '../app';
import { ensureEngine } from '../models/handlers';
import { runSelection } from './selection';
import { MarginService } from './service';

const services = new WeakMap<PumaApp, MarginService>();

export function marginServiceOf(app: PumaApp): MarginService {
  let s = services.get(app);
  if (!s) services.set(app, (s = new MarginService(app.db, app.dataDir, (kind, config, name) => app.startRun(kind, config, name))));
  return s;
}

export function marginHandlers(app: PumaApp): DomainHandlers<keyof typeof marginOperations> {
  return {
    'margins.list': (req) => marginServiceOf(app).list(req),
    'margins.get': (req) => marginServiceOf(app).get(req.id),
    'margins.start': (req) => {
      const { marginSetId, runId } = marginServiceOf(app).start(req);
      return { marginSetId, runId };
    },
    'margins.histogram': (req) => marginServiceOf(app).histogram(req.id, { bins: req.bins, eps: req.eps }),
    'margins.gallery': (req) => marginServiceOf(app).gallery(req.id, req.count),
    'margins.selection': async (req) => {
      await ensureEngine(); // the margin model predicts the galleries' classes
      return runSelection(marginServiceOf(app), app.runs, req);
    },
  };
}
