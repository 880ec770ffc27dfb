import type { DatasetBuilder } from '../builder';

/** What a format reader gets: where to write, limits, and a progress sink. */
export interface ImportContext {
  builder: DatasetBuilder;
  /** Largest uncompressed size accepted from one compressed input. */
  maxExpandedBytes: number;
  /** fraction in [0, 1] of this reader's work. */
  progress(fraction: number, text: string): Promise<void>;
}

/** What a format reader found besides the pixels. */
export interface ReadResult {
  /** Class names when the source names them. */
  classes?: string[];
}
