import fs from 'node:fs';
import type { SplitName } from '../../../src-shared/domain/datasets';
import { imagesFile, labelsFile } from './builder';

/** Splits up to this size are read into memory once; bigger ones are read by ranges. */
export const PRELOAD_LIMIT_BYTES = 512 * 1024 * 1024;

/**
 * Random access to one stored split without holding it as floats: images stay uint8, either
 * in one Buffer (small splits) or on disk, read by `fs.readSync` ranges.
 */
export class SplitReader {
  readonly count: number;
  readonly imageBytes: number;
  /** One byte per sample. */
  readonly labels: Uint8Array;
  private fd: number | null;
  private readonly memory: Buffer | null;

  constructor(
    dir: string,
    readonly split: SplitName,
    readonly height: number,
    readonly width: number,
    readonly channels: number,
    opts: { preload?: boolean } = {},
  ) {
    this.imageBytes = height * width * channels;
    const file = imagesFile(dir, split);
    this.labels = new Uint8Array(fs.readFileSync(labelsFile(dir, split)));
    this.count = this.labels.length;
    const size = fs.statSync(file).size;
    if (size !== this.count * this.imageBytes) {
      throw new Error(`${file}: ${size} bytes, expected ${this.count} images of ${this.imageBytes} bytes: the stored dataset is damaged`);
    }
    const preload = opts.preload ?? size <= PRELOAD_LIMIT_BYTES;
    this.memory = preload ? fs.readFileSync(file) : null;
    this.fd = preload ? null : fs.openSync(file, 'r');
  }

  private readInto(out: Uint8Array, outOffset: number, first: number, n: number): void {
    const bytes = n * this.imageBytes;
    const pos = first * this.imageBytes;
    if (this.memory) {
      out.set(this.memory.subarray(pos, pos + bytes), outOffset);
      return;
    }
    if (this.fd === null) throw new Error('SplitReader is closed');
    let got = 0;
    while (got < bytes) {
      const r = fs.readSync(this.fd, out, outOffset + got, bytes - got, pos + got);
      if (r === 0) throw new Error(`unexpected end of stored ${this.split} images`);
      got += r;
    }
  }

  private check(first: number, n: number) {
    if (first < 0 || n < 0 || first + n > this.count || !Number.isInteger(first) || !Number.isInteger(n)) {
      throw new RangeError(`images ${first}..${first + n - 1} are outside the ${this.split} split (0..${this.count - 1})`);
    }
  }

  /** `n` consecutive images starting at `first`, N×H×W×C uint8. */
  readRange(first: number, n: number, out: Uint8Array = new Uint8Array(n * this.imageBytes)): Uint8Array {
    this.check(first, n);
    this.readInto(out, 0, first, n);
    return out;
  }

  /** Images at arbitrary indices (runs of consecutive indices are read together). */
  readIndices(indices: ArrayLike<number>, out: Uint8Array = new Uint8Array(indices.length * this.imageBytes)): Uint8Array {
    let i = 0;
    while (i < indices.length) {
      let j = i + 1;
      while (j < indices.length && indices[j] === indices[j - 1] + 1) j++;
      this.check(indices[i], j - i);
      this.readInto(out, i * this.imageBytes, indices[i], j - i);
      i = j;
    }
    return out;
  }

  /** A view of one image when held in memory (no copy); undefined for on-disk splits. */
  memoryView(index: number): Uint8Array | undefined {
    if (!this.memory) return undefined;
    return this.memory.subarray(index * this.imageBytes, (index + 1) * this.imageBytes);
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}
