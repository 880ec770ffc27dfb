import type { marginOperations } from '../../../src-shared/api/ops/margins';
import type { RunsRepo } from '../../store/repos/runs';
import type { DomainHandlers } from '../app';
import { ensureEngine } from '../models/registry';
import { runSelection } from './selection';
import type { MarginService } from './service';

export function marginHandlers({ margins, runs }: { margins: MarginService; runs: RunsRepo }): DomainHandlers<keyof typeof marginOperations> {
  return {
    'margins.list': (req) => margins.list(req),
    'margins.get': (req) => margins.get(req.id),
    'margins.start': (req) => {
      const { marginSetId, runId } = margins.start(req);
      return { marginSetId, runId };
    },
    'margins.histogram': (req) => margins.histogram(req.id, { bins: req.bins, eps: req.eps }),
    'margins.gallery': (req) => margins.gallery(req.id, req.count),
    'margins.selection': async (req) => {
      await ensureEngine(); // the margin model predicts the galleries' classes
      return runSelection(margins, runs, req);
    },
  };
}
