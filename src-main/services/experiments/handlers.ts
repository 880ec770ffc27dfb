import type { experimentOperations } from '../../../src-shared/api/ops/experiments';
import type { DomainHandlers, PumaApp } from '../app';
import { ExperimentService } from './index';
import { listPresets } from './presets';

const services = new WeakMap<PumaApp, ExperimentService>();

/** The one ExperimentService of an app (the CLI commands reuse it). */
export function experimentService(app: PumaApp): ExperimentService {
  let s = services.get(app);
  if (!s) services.set(app, (s = new ExperimentService(app)));
  return s;
}

export function experimentHandlers(app: PumaApp): DomainHandlers<keyof typeof experimentOperations> {
  const s = experimentService(app);
  return {
    'experiments.presets': () => listPresets(),
    'experiments.plan': (req) => s.plan(req),
    'experiments.create': (req) => s.create(req),
    'experiments.list': () => s.listExperiments(),
    'experiments.get': (req) => s.getExperiment(req.id),
    'runs.table': (req) => s.table(req),
    'runs.update': (req) => s.update(req.id, req),
    'runs.retry': (req) => s.retry(req.id),
    'queue.get': () => s.queue(),
    'queue.reorder': (req) => s.reorder(req.order),
    'queue.move': (req) => s.move(req.id, req.delta),
    'queue.settings': (req) => s.setConcurrency(req.concurrency),
    'compare.data': (req) => s.compareData(req),
    'compare.table': (req) => s.groupedTable(req),
    'export.table': (req) => s.exportTable(req),
    'export.metrics': (req) => s.exportMetrics(req),
  };
}
