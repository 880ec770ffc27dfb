import fs from 'node:fs';
import path from 'node:path';
import { checkDimension, checkImageSize, checkSampleCount, LIMITS, type ExpansionBudget } from '../../limits';
import { ByteSource } from '../bytes';
import type { ImportContext, ReadResult } from './context';
import { readZipDirectory, type ZipEntry } from './zip';

const COPY_CHUNK = 8 * 1024 * 1024;

export interface NpyHeader {
  /** numpy dtype string, e.g. '|u1', '<i8'. */
  descr: string;
  fortranOrder: boolean;
  shape: number[];
}

/** Parses the `.npy` preamble: magic, version, then a Python dict literal. */
export function readNpyHeader(src: ByteSource, where: string): NpyHeader {
  const magic = src.tryRead(8);
  if (!magic || magic[0] !== 0x93 || String.fromCharCode(...magic.subarray(1, 6)) !== 'NUMPY') {
    throw new Error(`${where}: not a .npy array (bad magic)`);
  }
  const major = magic[6];
  if (major < 1 || major > 3) throw new Error(`${where}: .npy format version ${major}.${magic[7]} is not supported`);
  const lenBytes = src.read(major === 1 ? 2 : 4, 'the .npy header length');
  const len = major === 1 ? lenBytes[0] | (lenBytes[1] << 8) : Buffer.from(lenBytes).readUInt32LE(0);
  if (len > LIMITS.maxNpyHeaderBytes) throw new Error(`${where}: .npy header of ${len} bytes, past the limit of ${LIMITS.maxNpyHeaderBytes}`);
  const text = Buffer.from(src.read(len, 'the .npy header')).toString('latin1');
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new Error(`${where}: unreadable .npy header (no descr, fortran_order or shape)`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((d) => checkDimension(/^\d+L?$/.test(d) ? Number(d.replace(/L$/, '')) : d, where, `dimension '${d}' of shape (${shapeText.trim()})`));
  return { descr, fortranOrder: fortran === 'True', shape };
}

const INT_DTYPES: Record<string, { bytes: number; signed: boolean }> = {
  u1: { bytes: 1, signed: false },
  i1: { bytes: 1, signed: true },
  u2: { bytes: 2, signed: false },
  i2: { bytes: 2, signed: true },
  u4: { bytes: 4, signed: false },
  i4: { bytes: 4, signed: true },
  u8: { bytes: 8, signed: false },
  i8: { bytes: 8, signed: true },
};

/** Decodes integer labels of any numpy integer dtype into `out` from index `at`. */
function decodeLabels(raw: Uint8Array, t: { bytes: number; signed: boolean }, little: boolean, out: Float64Array): void {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let i = 0; i < out.length; i++) {
    const o = i * t.bytes;
    switch (t.bytes) {
      case 1:
        out[i] = t.signed ? view.getInt8(o) : view.getUint8(o);
        break;
      case 2:
        out[i] = t.signed ? view.getInt16(o, little) : view.getUint16(o, little);
        break;
      case 4:
        out[i] = t.signed ? view.getInt32(o, little) : view.getUint32(o, little);
        break;
      default:
        out[i] = Number(t.signed ? view.getBigInt64(o, little) : view.getBigUint64(o, little));
    }
  }
}

/**
 * Before reading `bytes` of data: a stored array must hold them (else it is truncated, said now
 * rather than after allocating), a compressed one must fit in the import's budget.
 */
function checkDeclaredData(src: ByteSource, bytes: number, where: string, budget: ExpansionBudget): void {
  const left = src.remainingRaw();
  if (left !== null && left < bytes) throw new Error(`${where}: truncated: the header declares ${bytes} bytes of data but ${left} follow`);
  if (left === null) budget.reserve(bytes, where);
}

/** Opens one array: a plain .npy file, or an .npz member read by offset (stored) or streamed (deflate). */
type ArrayOpener = () => { src: ByteSource; where: string };

function npyOpener(file: string): ArrayOpener {
  return () => ({ src: ByteSource.raw(file), where: file });
}

function zipMemberOpener(file: string, e: ZipEntry, budget: ExpansionBudget): ArrayOpener {
  return () => {
    const where = `${file} (member ${e.name})`;
    if (e.method === 0) return { src: ByteSource.raw(file, e.dataOffset, e.dataOffset + e.compressedSize), where };
    if (e.method === 8) {
      budget.reserve(e.uncompressedSize, where);
      return { src: ByteSource.inflateRaw(file, e.dataOffset, e.dataOffset + e.compressedSize, budget), where };
    }
    throw new Error(`${where}: zip compression method ${e.method} is not supported (only stored and deflate)`);
  };
}

export interface NpyLimits {
  /** Labels must be < this (classes of the base dataset); default 256. */
  numClasses?: number;
}

const LABELS_PER_READ = 1 << 20;

/**
 * Images (uint8, N×H×W×C or N×H×W) and labels (integers, length N). Both headers are checked
 * first (shapes, dtypes, the declared sizes against the file or the budget), then labels are
 * read in chunks and range-checked, then pixels stream straight into the store.
 */
async function readImageLabelArrays(image: ArrayOpener, label: ArrayOpener, ctx: ImportContext, limits: NpyLimits): Promise<ReadResult> {
  const numClasses = limits.numClasses ?? 256;
  const img = image();
  try {
    const h = readNpyHeader(img.src, img.where);
    if (h.descr !== '|u1' && h.descr !== '<u1' && h.descr !== '>u1') {
      throw new Error(`${img.where}: images have dtype ${h.descr}; uint8 (|u1) is required`);
    }
    if (h.fortranOrder) throw new Error(`${img.where}: images are stored in Fortran order; save a C-ordered array`);
    if (h.shape.length !== 3 && h.shape.length !== 4) {
      throw new Error(`${img.where}: images must be N×H×W×C (or N×H×W), found shape (${h.shape.join(', ')})`);
    }
    const [n, height, width, channels = 1] = h.shape;
    if (!height || !width || !channels) throw new Error(`${img.where}: image shape (${h.shape.join(', ')}) has an empty dimension`);
    if (channels !== 1 && channels !== 3) throw new Error(`${img.where}: images have ${channels} channels; 1 or 3 expected (NHWC order)`);
    checkImageSize(height, width, img.where);
    checkSampleCount(n, img.where);
    const imageBytes = height * width * channels;
    checkDeclaredData(img.src, n * imageBytes, img.where, ctx.budget);

    const labelBytes = readLabelVector(label, n, numClasses, img.where, ctx.budget);

    ctx.builder.setShape([height, width, channels], img.where);
    const writer = ctx.builder.split('train');
    const perChunk = Math.max(1, Math.floor(COPY_CHUNK / imageBytes));
    for (let i = 0; i < n; i += perChunk) {
      const k = Math.min(perChunk, n - i);
      writer.writeImages(img.src.read(k * imageBytes, `image ${i} of ${n} (array shorter than its header declares)`));
      await ctx.progress(img.src.consumed / img.src.totalInput, `images ${i + k}/${n}`);
    }
    writer.writeLabels(labelBytes);
  } finally {
    img.src.close();
  }
  return {};
}

/** The label vector of `n` images, each checked to lie in 0..numClasses-1. */
function readLabelVector(label: ArrayOpener, n: number, numClasses: number, imageWhere: string, budget: ExpansionBudget): Uint8Array {
  const lbl = label();
  try {
    const h = readNpyHeader(lbl.src, lbl.where);
    if (h.shape.length !== 1 && !(h.shape.length === 2 && h.shape[1] === 1)) {
      throw new Error(`${lbl.where}: labels must be a vector, found shape (${h.shape.join(', ')})`);
    }
    const t = INT_DTYPES[h.descr.slice(1)];
    if (!t) throw new Error(`${lbl.where}: labels have dtype ${h.descr}; an integer dtype is required`);
    if (h.fortranOrder && h.shape.length > 1 && h.shape[1] !== 1) throw new Error(`${lbl.where}: labels are stored in Fortran order`);
    const count = h.shape[0];
    if (count !== n) throw new Error(`${imageWhere}: ${n} images but ${count} labels in ${lbl.where}; the lengths must match`);
    checkDeclaredData(lbl.src, count * t.bytes, lbl.where, budget);
    const little = h.descr[0] !== '>';
    const out = new Uint8Array(count);
    const values = new Float64Array(Math.min(count, LABELS_PER_READ));
    for (let at = 0; at < count; at += LABELS_PER_READ) {
      const k = Math.min(LABELS_PER_READ, count - at);
      const raw = lbl.src.read(k * t.bytes, 'label data (array shorter than its header declares)');
      const chunk = values.subarray(0, k);
      decodeLabels(raw, t, little, chunk);
      for (let i = 0; i < k; i++) {
        const v = chunk[i];
        if (!(v >= 0 && v < numClasses)) {
          throw new Error(`${lbl.where}: label ${v} at index ${at + i} is out of range 0..${numClasses - 1}`);
        }
        out[at + i] = v;
      }
    }
    return out;
  } finally {
    lbl.src.close();
  }
}

const IMAGE_KEYS = ['image', 'images', 'x'];
const LABEL_KEYS = ['label', 'labels', 'y'];

/** `np.savez(file, image=..., label=...)` or `np.savez_compressed`; one 'train' split. */
export async function readNpz(file: string, ctx: ImportContext, limits: NpyLimits = {}): Promise<ReadResult> {
  const entries = readZipDirectory(file);
  const byKey = new Map(entries.map((e) => [e.name.replace(/\.npy$/, ''), e]));
  const imageKey = IMAGE_KEYS.find((k) => byKey.has(k));
  const labelKey = LABEL_KEYS.find((k) => byKey.has(k));
  if (!imageKey || !labelKey) {
    const missing = [!imageKey && "'image'", !labelKey && "'label'"].filter(Boolean).join(' and ');
    throw new Error(`${file}: missing key ${missing}; found keys: ${[...byKey.keys()].map((k) => `'${k}'`).join(', ') || 'none'}`);
  }
  return readImageLabelArrays(zipMemberOpener(file, byKey.get(imageKey)!, ctx.budget), zipMemberOpener(file, byKey.get(labelKey)!, ctx.budget), ctx, limits);
}

/** The image/label .npy files of a folder (image.npy + label.npy, or the plural names). */
export function npyPair(dir: string): { image: string; label: string } | null {
  const find = (keys: string[]) => keys.map((k) => path.join(dir, `${k}.npy`)).find((f) => fs.existsSync(f));
  const image = find(IMAGE_KEYS);
  const label = find(LABEL_KEYS);
  return image && label ? { image, label } : null;
}

export async function readNpyPair(dir: string, ctx: ImportContext, limits: NpyLimits = {}): Promise<ReadResult> {
  const pair = npyPair(dir);
  if (!pair) throw new Error(`${dir}: expected image.npy and label.npy side by side`);
  return readImageLabelArrays(npyOpener(pair.image), npyOpener(pair.label), ctx, limits);
}
