import type { perceptronOperations } from '../../../src-shared/api/ops/perceptron';
import type { DomainHandlers, PumaApp } from '../app';

export function perceptronHandlers(app: PumaApp): DomainHandlers<keyof typeof perceptronOperations> {
  return {
    'perceptron.start': (req) => ({ runId: app.startRun('perceptron', req.config, req.name ?? 'Perceptron study') }),
  };
}
