import type { Migration } from './types';
import { TRAINING_CHECKPOINTS_DDL } from './0004-training';

/**
 * Migration numbers were once reserved per domain, so a log could pass version 4 (as 0005 and
 * 0006 ran) before 0004's checkpoints table existed in the code; such a log never got it. The
 * runs repository used to create the table on first use; this step does it once, for every log
 * (IF NOT EXISTS: a log that has it is left as it is).
 */
export const migration0007: Migration = {
  version: 7,
  name: 'checkpoints-everywhere',
  up(db) {
    db.exec(TRAINING_CHECKPOINTS_DDL);
  },
};
