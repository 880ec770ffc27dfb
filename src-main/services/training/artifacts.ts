/**
 * Main side of a train run's artifacts: the margin model and margin set its job reports are
 * registered in the log (or found there: a model by content hash, a set by its scores key or
 * file), in one transaction. The ids go into the run's result.
 */
import type { RunArtifactIds, RunArtifacts } from '../../../src-shared/domain/run-artifacts';
import type { Db } from '../../store/db';
import { MarginsRepo } from '../../store/repos/margins';
import { ModelsRepo } from '../../store/repos/models';

const FILE = 'src-main/services/training/artifacts.ts';

/**
 * A registration that fails (e.g. the dataset was deleted meanwhile) leaves the log as it was and
 * the run training: it is reported, and the run's ids stay null.
 */
export function recordRunArtifacts(db: Db, runId: number, a: RunArtifacts): RunArtifactIds {
  try {
    return register(db, runId, a);
  } catch (e) {
    console.error(`${FILE}: run ${runId}: could not register its margin model / margin set: ${(e as Error).message}`);
    return { margin_model_id: null, margin_set_id: null };
  }
}

function register(db: Db, runId: number, a: RunArtifacts): RunArtifactIds {
  const models = new ModelsRepo(db);
  const sets = new MarginsRepo(db);
  return db.transaction((): RunArtifactIds => {
    if (a.marginSetFile !== null) {
      // `margin_set: FILE.npy`: referenced when the log knows the file, else the run used an outside file.
      const set = sets.getByFile(a.marginSetFile);
      return { margin_model_id: set?.modelId ?? null, margin_set_id: set?.id ?? null };
    }
    const known = a.marginSet ? sets.getByKey(a.marginSet.key) : undefined;
    if (known) return { margin_model_id: known.modelId, margin_set_id: known.id };
    let modelId: number | null = null;
    if (a.marginModel) {
      const m = a.marginModel;
      const same = models.list().filter((x) => x.hash === m.hash);
      const found = same.find((x) => x.provenance.runId === m.provenance.runId) ?? same[0];
      modelId = found ? found.id : models.create({ ...m, name: freeName(models, m.name, runId) });
    }
    if (!a.marginSet || modelId === null) return { margin_model_id: modelId, margin_set_id: null };
    return { margin_model_id: modelId, margin_set_id: sets.createFromRun({ ...a.marginSet, modelId, runId }) };
  })();
}

/** Model names are unique: a clash gets the run appended. */
function freeName(models: ModelsRepo, name: string, runId: number): string {
  if (!models.getByName(name)) return name;
  for (let k = 1; ; k++) {
    const candidate = `${name} [run ${runId}${k > 1 ? ` #${k}` : ''}]`;
    if (!models.getByName(candidate)) return candidate;
  }
}
