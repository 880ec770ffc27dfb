import type { Handlers, PumaApp } from './app';
import { perceptronHandlers } from './perceptron/handlers';
import { datasetHandlers } from './datasets/handlers';
import { experimentHandlers } from './experiments/handlers';
import { trainingHandlers } from './training/handlers';
import { modelHandlers } from './models/handlers';
import { marginHandlers } from './margins/handlers';
import { coreHandlers } from './runs/handlers';

/**
 * Every operation's handler, one factory per domain, each given the services it uses (built once,
 * by PumaApp). The type makes a missing operation a compile error. Add a domain by writing
 * services/<domain>/handlers.ts and spreading it here.
 */
export function createHandlers(app: PumaApp): Handlers {
  const { runs, datasets, models, training, experiments, margins } = app;
  return {
    ...coreHandlers(app),
    ...perceptronHandlers({ startRun: (kind, config, name, extra) => app.startRun(kind, config, name, extra) }),
    ...datasetHandlers({ datasets, imports: app.datasetImports, paths: app.paths, picker: () => app.pathPicker }),
    ...experimentHandlers({ experiments }),
    ...trainingHandlers({ training, runs }),
    ...modelHandlers({
      models,
      training,
      experiments: experiments.repo,
      runs,
      datasets,
      startRun: (kind, config, name) => app.startRun(kind, config, name),
    }),
    ...marginHandlers({ margins, runs }),
  };
}
