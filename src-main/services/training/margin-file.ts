/**
 * A margins file named in a training config (`margin_set`): a float32 .npy with one finite margin
 * per pool sample (or per training candidate). Checked when the run is configured, so a bad file
 * is refused before a run row exists, and again by the job when it reads it.
 */
import fs from 'node:fs';
import type { TrainConfig } from '../../../src-shared/domain/training';
import { decodeNpyFloat32 } from '../../engine/margins/npy';
import { LIMITS } from '../limits';
import type { DatasetService } from '../datasets/service';

/** Pool size (originals + generated) and the samples the run trains on (subset + generated). */
export interface PoolCounts {
  pool: number;
  used: number;
}

/** The pool counts a config implies, from the datasets' manifests (no pixels read). */
export function poolCounts(datasets: DatasetService, c: TrainConfig): PoolCounts {
  const dataset = datasets.get(c.dataset);
  const originals = dataset.splits.train?.count ?? 0;
  const generated = c.generated != null ? datasets.get(c.generated) : null;
  // as openRunData: a generated set's train split, else its test split
  const extra = generated ? (generated.splits.train?.count ?? generated.splits.test?.count ?? 0) : 0;
  const subset = Math.min(c.train_subset ?? originals, originals);
  return { pool: originals + extra, used: subset + extra };
}

/**
 * The margins of `file`: a vector (or N×1) of `counts.pool` or `counts.used` finite float32
 * values. The file is sized before it is read; every error names the file and the problem.
 */
export function readMarginFile(file: string, counts: PoolCounts): Float32Array {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${file}: ${code === 'ENOENT' ? 'no such file' : `cannot read the margins file (${code ?? (e as Error).message})`}`, { cause: e });
  }
  const largest = 12 + LIMITS.maxNpyHeaderBytes + 4 * Math.max(counts.pool, counts.used);
  if (size > largest) throw new Error(`${file}: ${size} bytes, more than a margins file for ${counts.pool} samples can hold`);
  let decoded: { data: Float32Array; shape: number[] };
  try {
    decoded = decodeNpyFloat32(fs.readFileSync(file), file);
  } catch (e) {
    // the codec prefixes its own source file; the user needs theirs
    throw new Error((e as Error).message.replace(/^src-main\/engine\/margins\/npy\.ts: /, ''), { cause: e });
  }
  const { data, shape } = decoded;
  if (shape.length !== 1 && !(shape.length === 2 && shape[1] === 1)) {
    throw new Error(`${file}: margins must be a vector (one per sample), found shape (${shape.join(', ')})`);
  }
  if (data.length !== counts.pool && data.length !== counts.used) {
    throw new Error(`${file}: ${data.length} margins, but the pool has ${counts.pool} samples (${counts.used} used)`);
  }
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) throw new Error(`${file}: margin ${data[i]} at index ${i} is not a finite number; recompute the margins`);
  }
  return data;
}
