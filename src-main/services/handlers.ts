import type { Handlers, PumaApp } from './app';
import { perceptronHandlers } from './perceptron/handlers';
import { datasetHandlers } from './datasets/handlers';
import { experimentHandlers } from './experiments/handlers';
import { trainingHandlers } from './training/handlers';
import { modelHandlers } from './models/handlers';
import { marginHandlers } from './margins/handlers';
import { coreHandlers } from './runs/handlers';

/**
 * Every operation's handler, one factory per domain. The type makes a missing operation a
 * compile error. Add a domain by writing services/<domain>/handlers.ts and spreading it here.
 */
export function createHandlers(app: PumaApp): Handlers {
  return {
    ...coreHandlers(app),
    ...perceptronHandlers(app),
    ...datasetHandlers(app),
    ...experimentHandlers(app),
    ...trainingHandlers(app),
    ...modelHandlers(app),
    ...marginHandlers(app),
  };
}
