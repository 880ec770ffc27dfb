import type { Migration } from './types';
import { migration0001 } from './0001-core';
import { migration0002 } from './0002-datasets';

/**
 * Every migration in order. Numbers are reserved per domain so parallel work does not collide:
 * 0002 datasets, 0003 models + margins, 0004 training (checkpoints, per-sample records).
 */
export const migrations: Migration[] = [migration0001, migration0002];
