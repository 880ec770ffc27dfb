import fs from 'node:fs';
import { Gunzip, Inflate } from 'fflate';
import { checkExpansionRatio, ExpansionBudget, formatBytes, LIMITS } from '../limits';

export { formatBytes };

/** Largest uncompressed size one import may produce unless the caller sets another. */
export const DEFAULT_MAX_EXPANDED_BYTES = LIMITS.maxExpandedBytes;
const READ_CHUNK = 4 * 1024 * 1024;
/**
 * Compressed bytes handed to the decoder at a time: fflate returns all the output of one push at
 * once, and DEFLATE expands at most ~1032:1, so one push yields at most ~33 MiB.
 */
const DECODER_SLICE = 32 * 1024;
/** Largest single read (one image is at most 4096×4096×4 = 64 MiB). */
const MAX_SINGLE_READ = 256 * 1024 * 1024;

type Decoder = { push(chunk: Uint8Array, final?: boolean): void };

/**
 * A pull reader over a byte range of a file, raw or decompressed on the fly (gzip or raw
 * DEFLATE), so imports stream: at most a few chunks are held at a time whatever the file size.
 * Decompressed bytes count against the import's ExpansionBudget as they are produced.
 */
export class ByteSource {
  private readonly fd: number;
  private pos: number;
  private readonly queue: Uint8Array[] = [];
  private queued = 0;
  private headOffset = 0;
  private inputDone = false;
  private decoderDone = false;
  private expanded = 0;
  /** Compressed input read from the file but not yet handed to the decoder. */
  private pending: Uint8Array = new Uint8Array(0);
  private fed = 0;
  private readonly decoder: Decoder | null;
  /** Bytes of the underlying file consumed so far (for progress). */
  consumed = 0;

  private constructor(
    readonly file: string,
    private readonly start: number,
    private readonly end: number,
    kind: 'raw' | 'gzip' | 'deflate',
    private readonly budget: ExpansionBudget | null,
  ) {
    this.fd = fs.openSync(file, 'r');
    this.pos = start;
    const ondata = (chunk: Uint8Array, final: boolean) => {
      this.expanded += chunk.length;
      this.budget!.take(chunk.length, file);
      checkExpansionRatio(file, this.expanded, this.fed);
      if (chunk.length) this.pushOut(chunk);
      if (final) this.decoderDone = true;
    };
    this.decoder = kind === 'gzip' ? new Gunzip(ondata) : kind === 'deflate' ? new Inflate(ondata) : null;
  }

  static raw(file: string, start = 0, end?: number): ByteSource {
    return new ByteSource(file, start, end ?? fs.statSync(file).size, 'raw', null);
  }

  static gunzip(file: string, budget: ExpansionBudget): ByteSource {
    return new ByteSource(file, 0, fs.statSync(file).size, 'gzip', budget);
  }

  static inflateRaw(file: string, start: number, end: number, budget: ExpansionBudget): ByteSource {
    return new ByteSource(file, start, end, 'deflate', budget);
  }

  /** Raw or gunzipped by the `.gz` extension. */
  static open(file: string, budget: ExpansionBudget): ByteSource {
    return /\.gz$/i.test(file) ? ByteSource.gunzip(file, budget) : ByteSource.raw(file);
  }

  get totalInput(): number {
    return this.end - this.start;
  }

  private pushOut(chunk: Uint8Array) {
    this.queue.push(chunk);
    this.queued += chunk.length;
  }

  /** Reads the next input chunk (one decoder slice for compressed data); false when nothing more will come. */
  private fill(): boolean {
    if (this.decoder && this.pending.length) return this.feed();
    if (this.inputDone) return false;
    const n = Math.min(READ_CHUNK, this.end - this.pos);
    const buf = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const r = fs.readSync(this.fd, buf, got, n - got, this.pos + got);
      if (r === 0) break;
      got += r;
    }
    this.pos += got;
    this.consumed += got;
    if (got < READ_CHUNK || this.pos >= this.end) this.inputDone = true;
    if (!this.decoder) {
      if (got) this.pushOut(buf.subarray(0, got));
      return true;
    }
    this.pending = buf.subarray(0, got);
    return this.feed();
  }

  /** Hands the decoder its next slice of compressed input. */
  private feed(): boolean {
    const slice = this.pending.subarray(0, DECODER_SLICE);
    this.pending = this.pending.subarray(slice.length);
    this.fed += slice.length;
    const last = this.inputDone && this.pending.length === 0;
    try {
      this.decoder!.push(slice, last);
    } catch (e) {
      const msg = (e as Error).message;
      throw new Error(msg.startsWith(this.file) ? msg : `${this.file}: corrupt compressed data (${msg})`, { cause: e });
    }
    if (last && !this.decoderDone) {
      throw new Error(`${this.file}: compressed data ends early (truncated download?)`);
    }
    return true;
  }

  /** Up to `max` bytes (fewer at a chunk boundary); an empty array only at the end. */
  readUpTo(max: number): Uint8Array {
    while (this.queued === 0) if (!this.fill()) return new Uint8Array(0);
    const head = this.queue[0];
    const n = Math.min(max, head.length - this.headOffset);
    const out = head.subarray(this.headOffset, this.headOffset + n);
    this.headOffset += n;
    this.queued -= n;
    if (this.headOffset === head.length) {
      this.queue.shift();
      this.headOffset = 0;
    }
    return out;
  }

  /** Exactly `n` bytes or null if the data ends first (callers word the error). */
  tryRead(n: number): Uint8Array | null {
    // callers read headers and chunks of records, never a whole declared array at once
    if (n > MAX_SINGLE_READ) throw new Error(`${this.file}: a record of ${formatBytes(n)} is past the limit of ${formatBytes(MAX_SINGLE_READ)} per read`);
    // raw fast path for big reads: one copy from the file, no queue concatenation
    if (!this.decoder && this.queued === 0 && n >= READ_CHUNK / 2) {
      if (this.end - this.pos < n) return null;
      const out = new Uint8Array(n);
      let got = 0;
      while (got < n) {
        const r = fs.readSync(this.fd, out, got, n - got, this.pos + got);
        if (r === 0) return null;
        got += r;
      }
      this.pos += n;
      this.consumed += n;
      if (this.pos >= this.end) this.inputDone = true;
      return out;
    }
    while (this.queued < n) if (!this.fill()) break;
    if (this.queued < n) return null;
    const first = this.queue[0];
    if (first.length - this.headOffset >= n) return this.readUpTo(n);
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const part = this.readUpTo(n - got);
      out.set(part, got);
      got += part.length;
    }
    return out;
  }

  /** Exactly `n` bytes; throws naming the file and `what` when the data ends first. */
  read(n: number, what: string): Uint8Array {
    const out = this.tryRead(n);
    if (!out) throw new Error(`${this.file}: truncated: ended while reading ${what}`);
    return out;
  }

  /** True when no byte is left. */
  atEnd(): boolean {
    while (this.queued === 0) if (!this.fill()) return true;
    return false;
  }

  /** Bytes left, when known without reading (raw sources only). */
  remainingRaw(): number | null {
    return this.decoder ? null : this.end - this.pos + this.queued;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** Lets the event loop run (progress events, IPC) during a long synchronous import. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
