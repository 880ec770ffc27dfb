import type { ExpansionBudget } from '../../limits';
import type { DatasetBuilder } from '../builder';

/** What a format reader gets: where to write, limits, and a progress sink. */
export interface ImportContext {
  builder: DatasetBuilder;
  /** Decompressed bytes this import may still produce (shared by every compressed input). */
  budget: ExpansionBudget;
  /** Labels must be below this: the class names given, the base dataset's, or the format's own. */
  numClasses?: number;
  /** fraction in [0, 1] of this reader's work. */
  progress(fraction: number, text: string): Promise<void>;
}

/** What a format reader found besides the pixels. */
export interface ReadResult {
  /** Class names when the source names them. */
  classes?: string[];
}
