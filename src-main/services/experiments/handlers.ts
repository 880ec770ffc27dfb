import type { experimentOperations } from '../../../src-shared/api/ops/experiments';
import type { DomainHandlers } from '../app';
import type { ExperimentService } from './index';
import { listPresets } from './presets';

export function experimentHandlers({ experiments: s }: { experiments: ExperimentService }): DomainHandlers<keyof typeof experimentOperations> {
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
