import fs from 'node:fs';
import path from 'node:path';
import type { SplitName } from '../../../../src-shared/domain/datasets';
import { checkImageSize, checkSampleCount, type ExpansionBudget } from '../../limits';
import { ByteSource } from '../bytes';
import type { ImportContext, ReadResult } from './context';

const IDX_NAME = /^(train|t10k|test)-(images|labels)[.-]idx(\d)-ubyte(\.gz)?$/i;
const COPY_CHUNK = 8 * 1024 * 1024;
/** MNIST, Fashion-MNIST and KMNIST have 10 classes; more need class names given. */
export const IDX_DEFAULT_CLASSES = 10;

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

/**
 * Before reading `bytes` of data: a raw file must hold them (else it is truncated, said before
 * allocating), a gzipped one must fit in the import's budget.
 */
function checkDeclaredData(src: ByteSource, bytes: number, file: string, budget: ExpansionBudget): void {
  const left = src.remainingRaw();
  if (left !== null && left < bytes) throw new Error(`${file}: truncated: the header declares ${bytes} bytes of data but ${left} follow`);
  if (left === null) budget.reserve(bytes, file);
}

/**
 * IDX files (big-endian header: magic 0x0000 08 ndim, then ndim uint32 sizes, then uint8 data).
 * The image header is checked first; the label file must then declare the same count, and every
 * label must be below the class count (10 unless class names say otherwise).
 */
export async function readIdx(dir: string, ctx: ImportContext): Promise<ReadResult> {
  const pairs = idxPairs(dir);
  if (!pairs.length) throw new Error(`${dir}: no IDX files found (expected train-images-idx3-ubyte(.gz), train-labels-idx1-ubyte(.gz), …)`);
  const numClasses = ctx.numClasses ?? IDX_DEFAULT_CLASSES;
  const total = pairs.reduce((s, p) => s + fs.statSync(p.images).size, 0);
  let doneBefore = 0;
  for (const pair of pairs) {
    const src = ByteSource.open(pair.images, ctx.budget);
    try {
      const { dims } = readHeader(src, pair.images);
      if (dims.length !== 3 && dims.length !== 4) {
        throw new Error(`${pair.images}: an IDX image file needs 3 or 4 dimensions (N, rows, cols[, channels]), found ${dims.length}`);
      }
      const [n, h, w, c = 1] = dims;
      checkSampleCount(n, pair.images);
      if (!h || !w || !c) throw new Error(`${pair.images}: image size ${h}×${w}×${c} is empty`);
      checkImageSize(h, w, pair.images);
      if (c !== 1 && c !== 3) throw new Error(`${pair.images}: images have ${c} channels; 1 or 3 expected`);
      const imageBytes = h * w * c;
      checkDeclaredData(src, n * imageBytes, pair.images, ctx.budget);
      const labels = readIdxLabels(pair.labels, ctx.budget, { count: n, imagesFile: pair.images, numClasses });
      ctx.builder.setShape([h, w, c], pair.images);
      const writer = ctx.builder.split(pair.split);
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

const LABELS_PER_READ = 1 << 20;

/**
 * The labels of an IDX label file. With `expect`, the count is checked against the image file's
 * before any label is read, and each label against the class count.
 */
export function readIdxLabels(file: string, budget: ExpansionBudget, expect?: { count: number; imagesFile: string; numClasses: number }): Uint8Array {
  const src = ByteSource.open(file, budget);
  try {
    const { dims } = readHeader(src, file);
    if (dims.length !== 1) throw new Error(`${file}: an IDX label file needs 1 dimension, found ${dims.length}`);
    const count = dims[0];
    if (expect && count !== expect.count) {
      throw new Error(`${expect.imagesFile}: ${expect.count} images but ${file} has ${count} labels; the counts must match`);
    }
    checkSampleCount(count, file, 'labels');
    checkDeclaredData(src, count, file, budget);
    const labels = new Uint8Array(count);
    for (let at = 0; at < count; at += LABELS_PER_READ) {
      const chunk = src.read(Math.min(LABELS_PER_READ, count - at), `label data (file shorter than its header declares)`);
      if (expect) {
        for (let i = 0; i < chunk.length; i++) {
          if (chunk[i] >= expect.numClasses) {
            throw new Error(
              `${file}: label ${chunk[i]} at index ${at + i} is out of range 0..${expect.numClasses - 1} ` +
                `(an IDX dataset has ${expect.numClasses} classes; give class names to import more)`,
            );
          }
        }
      }
      labels.set(chunk, at);
    }
    if (!src.atEnd()) throw new Error(`${file}: has more data than its header declares (${count} labels)`);
    return labels;
  } finally {
    src.close();
  }
}
