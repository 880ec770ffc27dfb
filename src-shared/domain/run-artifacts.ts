import type { MarginMethod, MarginParams, MarginSetSummary } from './margins';
import type { NewModelInfo } from './models';

/**
 * What a train run made or used on its way to training, reported by its job so the main process
 * (the log's only writer) can register it: the margin model and the margin set. The job writes
 * the files; the main process records the rows and answers with their ids (RunArtifactIds),
 * which it adds to the run's stored result.
 */
export interface RunArtifacts {
  /** A model to register (or to find by content hash); null when the set is already in the log. */
  marginModel: NewModelInfo | null;
  /** A set the run computed (or found cached), keyed like the scores cache. */
  marginSet: {
    key: string;
    datasetId: number;
    split: 'train';
    method: MarginMethod;
    params: MarginParams;
    count: number;
    subset: number | null;
    generatedId: number | null;
    file: string;
    summary: MarginSetSummary;
  } | null;
  /** `margin_set: FILE.npy`: the file the run read (referenced when a set in the log holds it). */
  marginSetFile: string | null;
}

/** The log's ids for them, as `puma train --json` and TrainRunResult carry them. */
export interface RunArtifactIds {
  margin_model_id: number | null;
  margin_set_id: number | null;
}
