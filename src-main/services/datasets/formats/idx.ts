import fs from 'node:fs';
import path from 'node:path';
import type { SplitName } from '../../../../src-shared/domain/datasets';
import { ByteSource } from '../bytes';
import type { ImportContext, ReadResult } from './context';

const IDX_NAME = /^(train|t10k|test)-(images|labels)[.-]idx(\d)-ubyte(\.gz)?$/i;
const COPY_CHUNK = 8 * 1024 * 1024;

export interface IdxPair {
  split: SplitName;
  images: string;
  labels: string;
}

/** The image/label file pairs of an IDX folder (MNIST, Fashion-MNIST, KMNIST layout). */
export function idxPairs(dir: string): IdxPair[] {
  const found: Partial<Record<SplitName, { images?: string; labels?: string }>> = {};
  for (const name of fs.readdirSync(dir).sort()) {
    const m = IDX_NAME.exec(name);
    if (!m) continue;
    const split: SplitName = m[1].toLowerCase() === 'train' ? 'train' : 'test';
    const kind = m[2].toLowerCase() as 'images' | 'labels';
    const entry = (found[split] ??= {});
    // prefer the uncompressed file when both exist
    if (!entry[kind] || !/\.gz$/i.test(name)) entry[kind] = path.join(dir, name);
  }
  const pairs: IdxPair[] = [];
  for (const split of ['train', 'test'] as const) {
    const e = found[split];
    if (!e) continue;
    if (!e.images || !e.labels) {
      const have = (e.images ?? e.labels)!;
      throw new Error(`${have}: the matching ${e.images ? 'labels' : 'images'} file for the ${split} split is missing in ${dir}`);
    }
    pairs.push({ split, images: e.images, labels: e.labels });
  }
  return pairs;
}

export function isIdxFileName(name: string): boolean {
  return IDX_NAME.test(name);
}

interface IdxHeader {
  dims: number[];
}

function readHeader(src: ByteSource, file: string): IdxHeader {
  const head = src.tryRead(4);
  if (!head) throw new Error(`${file}: too short for an IDX file`);
  if (head[0] !== 0 || head[1] !== 0) {
    const magic = Buffer.from(head).readUInt32BE(0);
    throw new Error(`${file}: bad magic number 0x${magic.toString(16).padStart(8, '0')}: not an IDX file (a .gz file without the .gz extension?)`);
  }
  if (head[2] !== 0x08) throw new Error(`${file}: IDX data type 0x${head[2].toString(16)} is not unsigned byte (0x08)`);
  const ndim = head[3];
  if (ndim < 1 || ndim > 4) throw new Error(`${file}: IDX header has ${ndim} dimensions`);
  const raw = src.read(4 * ndim, 'the IDX header');
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  return { dims: Array.from({ length: ndim }, (_, i) => view.getUint32(4 * i, false)) };
}

/** IDX files (big-endian header: magic 0x0000 08 ndim, then ndim uint32 sizes, then uint8 data). */
export async function readIdx(dir: string, ctx: ImportContext): Promise<ReadResult> {
  const pairs = idxPairs(dir);
  if (!pairs.length) throw new Error(`${dir}: no IDX files found (expected train-images-idx3-ubyte(.gz), train-labels-idx1-ubyte(.gz), …)`);
  const total = pairs.reduce((s, p) => s + fs.statSync(p.images).size, 0);
  let doneBefore = 0;
  for (const pair of pairs) {
    const labels = readIdxLabels(pair.labels, ctx.maxExpandedBytes);
    const src = /\.gz$/i.test(pair.images) ? ByteSource.gunzip(pair.images, ctx.maxExpandedBytes) : ByteSource.raw(pair.images);
    try {
      const { dims } = readHeader(src, pair.images);
      if (dims.length !== 3 && dims.length !== 4) {
        throw new Error(`${pair.images}: an IDX image file needs 3 or 4 dimensions (N, rows, cols[, channels]), found ${dims.length}`);
      }
      const [n, h, w, c = 1] = dims;
      if (n !== labels.length) {
        throw new Error(`${pair.images}: ${n} images but ${pair.labels} has ${labels.length} labels; the counts must match`);
      }
      if (!h || !w || !c) throw new Error(`${pair.images}: image size ${h}×${w}×${c} is empty`);
      ctx.builder.setShape([h, w, c], pair.images);
      const writer = ctx.builder.split(pair.split);
      const imageBytes = h * w * c;
      const perChunk = Math.max(1, Math.floor(COPY_CHUNK / imageBytes));
      for (let i = 0; i < n; i += perChunk) {
        const k = Math.min(perChunk, n - i);
        writer.writeImages(src.read(k * imageBytes, `image ${i} of ${n} (file shorter than its header declares)`));
        await ctx.progress((doneBefore + src.consumed) / total, `${path.basename(pair.images)}: ${i + k}/${n}`);
      }
      if (!src.atEnd()) throw new Error(`${pair.images}: has more data than its header declares (${n} images of ${h}×${w}×${c})`);
      writer.writeLabels(labels);
      doneBefore += fs.statSync(pair.images).size;
    } finally {
      src.close();
    }
  }
  return {};
}

export function readIdxLabels(file: string, maxExpanded: number): Uint8Array {
  const src = ByteSource.open(file, maxExpanded);
  try {
    const { dims } = readHeader(src, file);
    if (dims.length !== 1) throw new Error(`${file}: an IDX label file needs 1 dimension, found ${dims.length}`);
    const labels = src.read(dims[0], `label data (file shorter than its header declares)`);
    if (!src.atEnd()) throw new Error(`${file}: has more data than its header declares (${dims[0]} labels)`);
    return labels.slice();
  } finally {
    src.close();
  }
}
