import type { ModelInfo, ModelJobResult } from '../../src-shared/domain/models';
import type { PumaApp } from '../../src-main/services/app';

/**
 * Waits for a `models` run (models.import / evaluate / addTrainRun answer with its id) and
 * returns the model its result names; a run that did not finish fails with its error.
 */
export async function modelOfRun(app: PumaApp, runId: number): Promise<ModelInfo> {
  const status = await app.runner.waitFor(runId);
  if (status !== 'finished') throw new Error(`models run ${runId} ended ${status}: ${app.runs.get(runId).error ?? ''}`);
  return app.models.get((app.runs.get(runId).result as ModelJobResult).model_id);
}
