import type { Migration } from './types';
import { migration0001 } from './0001-core';
import { migration0002 } from './0002-datasets';
import { migration0003 } from './0003-models-margins';
import { migration0004 } from './0004-training';
import { migration0005 } from './0005-experiments';
import { migration0006 } from './0006-run-artifacts';
import { migration0007 } from './0007-checkpoints-everywhere';

/**
 * Every migration, in order: version n is the n-th entry, so a new one takes the next number
 * (no numbers reserved ahead: a log that skipped a reserved number never ran that step, see
 * 0007). `assertInOrder` refuses a list with a gap, a repeat or a step out of place.
 */
export const migrations: readonly Migration[] = assertInOrder([
  migration0001,
  migration0002,
  migration0003,
  migration0004,
  migration0005,
  migration0006,
  migration0007,
]);

export function assertInOrder(list: Migration[]): Migration[] {
  list.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new Error(`store/migrations: entry ${i + 1} is version ${m.version} (${m.name}); versions must run 1, 2, 3, … with no gap or repeat`);
  });
  return list;
}

/** The version a log has once every migration ran. */
export const NEWEST_VERSION = migrations.length;
