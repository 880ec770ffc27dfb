import type { coreOperations } from '../../../src-shared/api/ops/core';
import type { DomainHandlers, PumaApp } from '../app';
import { APP_VERSION, gitCommit, plannedBackend } from '../system';

export function coreHandlers(app: PumaApp): DomainHandlers<keyof typeof coreOperations> {
  return {
    'app.info': () => ({
      name: 'PUMA Lab',
      version: APP_VERSION,
      mode: app.options.mode,
      dbPath: app.options.dbPath,
      dataDir: app.dataDir,
      backend: plannedBackend(),
      git_commit: gitCommit(),
      readOnly: app.readOnly,
      logFault: app.runner.storageFault,
    }),
    'runs.list': (req) => app.runs.list(req),
    'runs.get': (req) => {
      const run = app.runs.get(req.id);
      const live = app.runner.phasesOf(req.id);
      return live ? { ...run, phases: live.phases, elapsed_seconds: live.elapsedSeconds } : run;
    },
    'runs.metrics': (req) => {
      app.runs.get(req.id);
      return app.runs.metrics(req.id, req.keys, req.maxPoints);
    },
    'runs.cancel': (req) => {
      app.runs.get(req.id);
      return { id: req.id, status: app.runner.cancel(req.id) };
    },
  };
}
