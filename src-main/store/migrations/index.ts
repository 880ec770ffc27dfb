import type { Migration } from './types';
import { migration0001 } from './0001-core';
import { migration0002 } from './0002-datasets';
import { migration0005 } from './0005-experiments';
import { migration0003 } from './0003-models-margins';
import { migration0004 } from './0004-training';
import { migration0006 } from './0006-run-artifacts';

/**
 * Every migration in order. Numbers are reserved per domain so parallel work does not collide:
 * 0002 datasets, 0003 models + margins, 0004 training (checkpoints, per-sample records),
 * 0006 the margin sets train runs make.
 */
export const migrations: Migration[] = [migration0001, migration0002, migration0003, migration0004, migration0005, migration0006];
