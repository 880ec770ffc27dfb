import type { perceptronOperations } from '../../../src-shared/api/ops/perceptron';
import type { DomainHandlers, PumaApp } from '../app';

export function perceptronHandlers({ startRun }: { startRun: PumaApp['startRun'] }): DomainHandlers<keyof typeof perceptronOperations> {
  return {
    'perceptron.start': (req) => ({ runId: startRun('perceptron', req.config, req.name ?? 'Perceptron study') }),
  };
}
