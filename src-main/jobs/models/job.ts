import { ModelJobConfig, type ModelInfo, type ModelJobResult } from '../../../src-shared/domain/models';
import { initEngine } from '../../engine';
import { DatasetService } from '../../services/datasets';
import { ModelService, type EvalProgress } from '../../services/models/service';
import { openDatabase } from '../../store/db';
import { RunsRepo } from '../../store/repos/runs';
import type { JobContext, JobHandler } from '../context';

/** Per evaluated batch: progress, then a yield so a cancel message can arrive, then the cancel check. */
function evalProgress(ctx: JobContext, what: string): EvalProgress {
  return async (done, total) => {
    ctx.progress(total ? done / total : 1, `${what}: ${done} / ${total} samples evaluated`);
    await new Promise((r) => setImmediate(r));
    ctx.throwIfCancelled();
  };
}

/**
 * Model work that loads TF.js, off the main process: an import (with its optional evaluation), an
 * evaluation, or the registration of a train run's final model. The models service does the work
 * as the CLI does in-process (files written atomically: temp folder → rename, then the row), so
 * this job writes its model's row itself (jobs/protocol.ts); a cancelled or failed import
 * leaves no row and no folder. The result names the model.
 */
export const modelsJob: JobHandler = async (ctx, rawConfig) => {
  const config = ModelJobConfig.parse(rawConfig);
  const engine = await initEngine();
  ctx.environment(engine.backend, engine.device);
  const db = openDatabase(ctx.dbPath, { migrate: false });
  try {
    const datasets = new DatasetService(db, ctx.dataDir);
    const models = new ModelService(db, ctx.dataDir, datasets);
    let info: ModelInfo;
    ctx.progress(0, 'loading the model', true);
    if (config.op === 'import') {
      info = await models.importModel(config.request, evalProgress(ctx, `evaluating "${config.request.name}"`));
    } else if (config.op === 'evaluate') {
      const { id, dataset, count, robustEps } = config.request;
      await models.evaluate(id, dataset, { count, robustEps, onProgress: evalProgress(ctx, `evaluating model ${id}`) });
      info = models.get(id);
    } else {
      info = await models.addTrainRun(new RunsRepo(db).get(config.runId), config.name);
    }
    const result: ModelJobResult = { model_id: info.id };
    ctx.result(result, true);
    ctx.progress(1, `model "${info.name}" (id ${info.id})`, true);
  } finally {
    db.close();
  }
};
