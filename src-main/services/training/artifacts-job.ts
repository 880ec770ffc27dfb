/**
 * Job side of a train run's artifacts: the margin model behind its margins is copied into the
 * models folder (content-hashed, like an import) and described with its margin set, for the main
 * process to register (RunArtifacts). The job writes files only; the log rows are main's.
 */
import path from 'node:path';
import { MarginParams } from '../../../src-shared/domain/margins';
import type { ModelAccuracy, NewModelInfo } from '../../../src-shared/domain/models';
import type { RunArtifacts } from '../../../src-shared/domain/run-artifacts';
import type { TrainConfig } from '../../../src-shared/domain/training';
import { summarizeMargins } from '../../engine/margins';
import type { Db } from '../../store/db';
import { MarginsRepo } from '../../store/repos/margins';
import { RunsRepo } from '../../store/repos/runs';
import { dropFinalSoftmax, readLayersArtifacts, resolveModelJson } from '../models/files';
import { storeModelFiles } from '../models/service';
import type { RunData } from './data';
import { runMarginSpec, type ScoreResult } from './scores';

/** The margin-set key of a run's scores (the scores cache key, so a run hitting the cache finds its set). */
export const runMarginSetKey = (scoresKey: string): string => `train-scores:${scoresKey}`;

/** What the job knows when its scores are in (its log connection is read-only in use). */
interface JobState {
  config: TrainConfig;
  data: RunData;
  scores: ScoreResult;
  runId: number;
  dataDir: string;
  db: Db;
}

export async function describeRunArtifacts(a: JobState): Promise<RunArtifacts | null> {
  const { config: c, data, scores } = a;
  if (c.margin_set != null) return { marginModel: null, marginSet: null, marginSetFile: path.resolve(c.margin_set) };
  // Only margins make a margin set (CD scores have no model dir), and only with their model still on disk.
  if (scores.key === null || scores.modelDir === null) return null;
  const spec = runMarginSpec(c, data.numClasses);
  // The pool: the first `originals` training samples, then the whole generated set.
  const originals = data.candidates.length - (data.generatedReader?.count ?? 0);
  const key = runMarginSetKey(scores.key);
  const marginSet: RunArtifacts['marginSet'] = {
    key,
    datasetId: data.dataset.id,
    split: 'train',
    method: spec.method,
    params: MarginParams.parse({ norm: 'linf', ...spec.params }),
    count: data.candidates.length,
    subset: originals < data.original.count ? originals : null,
    generatedId: data.generated?.id ?? null,
    file: path.resolve(scores.path!),
    summary: summarizeMargins(scores.values, c.eq2_eps ?? c.eps),
  };
  // A set already in the log brings its model along: nothing to copy.
  if (new MarginsRepo(a.db).getByKey(key)) return { marginModel: null, marginSet, marginSetFile: null };
  return { marginModel: await modelOf(a, scores.modelDir), marginSet, marginSetFile: null };
}

async function modelOf(a: JobState, dir: string): Promise<NewModelInfo> {
  const { config: c, data } = a;
  const file = resolveModelJson(dir);
  const artifacts = readLayersArtifacts(file);
  const droppedSoftmax = dropFinalSoftmax(artifacts.modelTopology);
  const { model, files } = await storeModelFiles(path.join(a.dataDir, 'models'), artifacts, file);
  model.dispose();
  let accuracy: ModelAccuracy | null = null;
  if (c.margin_model != null) {
    // The final model of an earlier run: named and measured as `models add-run` would.
    const source = new RunsRepo(a.db).get(c.margin_model);
    const sourceConfig = (source.config ?? {}) as { arch?: string; eps?: number };
    const metrics = (source.result as { metrics?: { clean_acc?: number; robust_acc_pgd?: number } | null } | null)?.metrics;
    if (typeof metrics?.clean_acc === 'number') {
      const robust = typeof metrics.robust_acc_pgd === 'number' ? metrics.robust_acc_pgd : null;
      accuracy = {
        datasetId: data.dataset.id,
        split: 'test',
        count: data.test.labels.length,
        clean: metrics.clean_acc,
        robust,
        robustEps: robust === null ? null : (sourceConfig.eps ?? null),
      };
    }
    return {
      name: `${sourceConfig.arch ?? 'model'} (run ${c.margin_model})`,
      source: 'trained',
      provenance: {
        runId: c.margin_model,
        architecture: sourceConfig.arch,
        note: `final EMA model of train run ${c.margin_model}`,
        role: 'final',
        datasetId: data.dataset.id,
      },
      droppedSoftmax,
      ...files,
      accuracy,
    };
  }
  if (a.scores.modelEval)
    accuracy = { datasetId: data.dataset.id, split: 'test', count: a.scores.modelEval.count, clean: a.scores.modelEval.clean, robust: null, robustEps: null };
  return {
    name: `${c.arch} margin model (run ${a.runId})`,
    source: 'trained',
    provenance: {
      runId: a.runId,
      architecture: c.arch,
      role: 'margin_model',
      datasetId: data.dataset.id,
      note: `trained by train run ${a.runId} for its margins (${c.method}, ${c.margin_model_epochs} epochs${a.scores.source === 'cache' ? '; found in the scores cache' : ''})`,
    },
    droppedSoftmax,
    ...files,
    accuracy,
  };
}
