/**
 * Per-sample correctness during training (record_correctness): which pool samples were
 * misclassified in each epoch, written as one file per epoch, and the classification difficulty
 * (CD) of each sample: the share of its epochs in which it was wrong.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The checkpoint array names of the recorder's counts. */
const ARRAYS = { seen: 'cd/seen', wrong: 'cd/wrong', epochSeen: 'cd/epoch_seen', epochWrong: 'cd/epoch_wrong' } as const;

export class CorrectnessRecorder {
  /** Epochs each sample was seen in / wrong in, over finished epochs. */
  private seen: Float32Array;
  private wrong: Float32Array;
  /** The current epoch's draws of each sample and how many were wrong. */
  private epochSeen: Float32Array;
  private epochWrong: Float32Array;

  constructor(poolSize: number) {
    this.seen = new Float32Array(poolSize);
    this.wrong = new Float32Array(poolSize);
    this.epochSeen = new Float32Array(poolSize);
    this.epochWrong = new Float32Array(poolSize);
  }

  /** One batch: `indices` are pool indices, `correct[i]` 1 when sample i was classified right. */
  record(indices: Int32Array, correct: Uint8Array): void {
    for (let i = 0; i < correct.length; i++) {
      this.epochSeen[indices[i]!]! += 1;
      if (!correct[i]) this.epochWrong[indices[i]!]! += 1;
    }
  }

  /** Writes the epoch's correctness under runDir/correctness/ and folds it into the totals. */
  endEpoch(runDir: string, epoch: number): void {
    writeCorrectness(runDir, epoch, this.epochSeen, this.epochWrong);
    // CD counts epochs: a sample is wrong in an epoch when any of its draws was misclassified.
    for (let i = 0; i < this.epochSeen.length; i++) {
      if (this.epochSeen[i]! > 0) ((this.seen[i]! += 1), (this.wrong[i]! += this.epochWrong[i]! > 0 ? 1 : 0));
    }
    this.epochSeen.fill(0);
    this.epochWrong.fill(0);
  }

  /** The counts as checkpoint arrays. */
  arrays(): Record<string, Float32Array> {
    return { [ARRAYS.seen]: this.seen, [ARRAYS.wrong]: this.wrong, [ARRAYS.epochSeen]: this.epochSeen, [ARRAYS.epochWrong]: this.epochWrong };
  }

  /** Takes the counts of a checkpoint (those it lacks stay as they are). */
  restore(arrays: Record<string, Float32Array>): void {
    this.seen = arrays[ARRAYS.seen] ?? this.seen;
    this.wrong = arrays[ARRAYS.wrong] ?? this.wrong;
    this.epochSeen = arrays[ARRAYS.epochSeen] ?? this.epochSeen;
    this.epochWrong = arrays[ARRAYS.epochWrong] ?? this.epochWrong;
  }

  /** CD per pool sample: wrong epochs / seen epochs (0 for a sample never seen). */
  difficulty(): Float32Array {
    const cd = new Float32Array(this.seen.length);
    for (let i = 0; i < cd.length; i++) cd[i] = this.seen[i]! > 0 ? this.wrong[i]! / this.seen[i]! : 0;
    return cd;
  }
}

/** Per-sample correctness of one epoch: 0 unseen, 1 correct every time, 2 wrong at least once. */
function writeCorrectness(runDir: string, epoch: number, seen: Float32Array, wrong: Float32Array): void {
  const dir = path.join(runDir, 'correctness');
  fs.mkdirSync(dir, { recursive: true });
  const out = new Uint8Array(seen.length);
  for (let i = 0; i < seen.length; i++) out[i] = seen[i] === 0 ? 0 : wrong[i]! > 0 ? 2 : 1;
  fs.writeFileSync(path.join(dir, `epoch-${String(epoch).padStart(4, '0')}.u8`), out);
}
