import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { SplitName, SplitSummary } from '../../../src-shared/domain/datasets';

const WRITE_BUFFER = 4 * 1024 * 1024;

export function imagesFile(dir: string, split: SplitName): string {
  return path.join(dir, `${split}-images.u8`);
}
export function labelsFile(dir: string, split: SplitName): string {
  return path.join(dir, `${split}-labels.u8`);
}

/** Appends to a file through a buffer while hashing what it writes. */
class HashedAppender {
  private readonly fd: number;
  private readonly hash = crypto.createHash('sha256');
  private buf = Buffer.allocUnsafe(WRITE_BUFFER);
  private used = 0;
  bytes = 0;

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'w');
  }

  write(data: Uint8Array): void {
    this.hash.update(data);
    this.bytes += data.length;
    if (data.length >= WRITE_BUFFER / 2) {
      this.flush();
      writeAll(this.fd, data);
      return;
    }
    if (this.used + data.length > this.buf.length) this.flush();
    this.buf.set(data, this.used);
    this.used += data.length;
  }

  flush(): void {
    if (this.used) writeAll(this.fd, this.buf.subarray(0, this.used));
    this.used = 0;
  }

  finish(): string {
    this.flush();
    fs.closeSync(this.fd);
    return this.hash.digest('hex');
  }

  abort(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      /* already closed */
    }
  }
}

function writeAll(fd: number, data: Uint8Array) {
  let off = 0;
  while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
}

/** Writes one split: images as N×H×W×C uint8 and labels as N uint8, counting per class. */
export class SplitWriter {
  private readonly images: HashedAppender;
  private readonly labels: HashedAppender;
  perClass: number[] = [];
  imageCount = 0;
  labelCount = 0;

  constructor(
    dir: string,
    readonly split: SplitName,
    readonly imageBytes: number,
  ) {
    this.images = new HashedAppender(imagesFile(dir, split));
    this.labels = new HashedAppender(labelsFile(dir, split));
  }

  /** Whole images only (a multiple of H·W·C bytes). */
  writeImages(data: Uint8Array): void {
    if (data.length % this.imageBytes !== 0) throw new Error(`internal: partial image write (${data.length} bytes)`);
    this.images.write(data);
    this.imageCount += data.length / this.imageBytes;
  }

  writeLabels(labels: Uint8Array): void {
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i];
      while (this.perClass.length <= l) this.perClass.push(0);
      this.perClass[l]++;
    }
    this.labels.write(labels);
    this.labelCount += labels.length;
  }

  finish(numClasses: number): { summary: SplitSummary; digest: string } {
    if (this.imageCount !== this.labelCount) {
      throw new Error(`internal: split ${this.split} has ${this.imageCount} images but ${this.labelCount} labels`);
    }
    const perClass = Array.from({ length: numClasses }, (_, i) => this.perClass[i] ?? 0);
    const imgDigest = this.images.finish();
    const lblDigest = this.labels.finish();
    return {
      summary: { count: this.imageCount, perClass },
      digest: `${this.split}:${this.imageCount}:${imgDigest}:${lblDigest}`,
    };
  }

  abort(): void {
    this.images.abort();
    this.labels.abort();
  }
}

/**
 * Collects the splits of one import in a temporary folder. The content hash covers the shape
 * and every split's bytes, so the same data imported twice lands in the same folder.
 */
export class DatasetBuilder {
  shape: [number, number, number] | null = null;
  readonly writers = new Map<SplitName, SplitWriter>();

  constructor(readonly dir: string) {}

  setShape(shape: [number, number, number], file: string): void {
    if (this.shape && this.shape.some((v, i) => v !== shape[i])) {
      throw new Error(`${file}: images are ${shape.join('×')} but earlier files had ${this.shape.join('×')}`);
    }
    this.shape = shape;
  }

  get imageBytes(): number {
    if (!this.shape) throw new Error('internal: shape not set');
    return this.shape[0] * this.shape[1] * this.shape[2];
  }

  split(name: SplitName): SplitWriter {
    let w = this.writers.get(name);
    if (!w) {
      w = new SplitWriter(this.dir, name, this.imageBytes);
      this.writers.set(name, w);
    }
    return w;
  }

  /** Highest label seen + 1. */
  labelRange(): number {
    let n = 0;
    for (const w of this.writers.values()) n = Math.max(n, w.perClass.length);
    return n;
  }

  finish(numClasses: number): { hash: string; splits: Partial<Record<SplitName, SplitSummary>> } {
    const splits: Partial<Record<SplitName, SplitSummary>> = {};
    const parts = [`puma-dataset-v1:${this.shape?.join('x')}:${numClasses}`];
    for (const name of ['train', 'test'] as const) {
      const w = this.writers.get(name);
      if (!w) continue;
      const { summary, digest } = w.finish(numClasses);
      splits[name] = summary;
      parts.push(digest);
    }
    const hash = crypto.createHash('sha256').update(parts.join('\n')).digest('hex');
    return { hash, splits };
  }

  abort(): void {
    for (const w of this.writers.values()) w.abort();
  }
}
