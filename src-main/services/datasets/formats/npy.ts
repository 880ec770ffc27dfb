import fs from 'node:fs';
import path from 'node:path';
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
  const lenBytes = src.read(major === 1 ? 2 : 4, 'the .npy header length');
  const len = major === 1 ? lenBytes[0] | (lenBytes[1] << 8) : Buffer.from(lenBytes).readUInt32LE(0);
  const text = Buffer.from(src.read(len, 'the .npy header')).toString('latin1');
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new Error(`${where}: unreadable .npy header ${JSON.stringify(text.trim())}`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
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

/** Reads an integer label vector of any numpy integer dtype into plain numbers. */
function decodeLabels(raw: Uint8Array, header: NpyHeader, where: string): Float64Array {
  const order = header.descr[0];
  const t = INT_DTYPES[header.descr.slice(1)];
  if (!t) throw new Error(`${where}: labels have dtype ${header.descr}; an integer dtype is required`);
  const little = order !== '>';
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const n = raw.length / t.bytes;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
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
  return out;
}

/** Opens one array: a plain .npy file, or an .npz member read by offset (stored) or streamed (deflate). */
type ArrayOpener = () => { src: ByteSource; where: string };

function npyOpener(file: string): ArrayOpener {
  return () => ({ src: ByteSource.raw(file), where: file });
}

function zipMemberOpener(file: string, e: ZipEntry, maxExpanded: number): ArrayOpener {
  return () => {
    const where = `${file} (member ${e.name})`;
    if (e.method === 0) return { src: ByteSource.raw(file, e.dataOffset, e.dataOffset + e.compressedSize), where };
    if (e.method === 8) {
      if (e.uncompressedSize > maxExpanded) throw new Error(`${where}: expands to ${e.uncompressedSize} bytes, past the limit of ${maxExpanded}`);
      return { src: ByteSource.inflateRaw(file, e.dataOffset, e.dataOffset + e.compressedSize, maxExpanded), where };
    }
    throw new Error(`${where}: zip compression method ${e.method} is not supported (only stored and deflate)`);
  };
}

export interface NpyLimits {
  /** Labels must be < this (classes of the base dataset); default 256. */
  numClasses?: number;
}

/**
 * Images (uint8, N×H×W×C or N×H×W) and labels (integers, length N). Labels are read first
 * (small), then pixels stream straight into the store.
 */
async function readImageLabelArrays(image: ArrayOpener, label: ArrayOpener, ctx: ImportContext, limits: NpyLimits): Promise<ReadResult> {
  const numClasses = limits.numClasses ?? 256;
  const lbl = label();
  let labels: Float64Array;
  try {
    const h = readNpyHeader(lbl.src, lbl.where);
    if (h.shape.length !== 1 && !(h.shape.length === 2 && h.shape[1] === 1)) {
      throw new Error(`${lbl.where}: labels must be a vector, found shape (${h.shape.join(', ')})`);
    }
    const t = INT_DTYPES[h.descr.slice(1)];
    if (!t) throw new Error(`${lbl.where}: labels have dtype ${h.descr}; an integer dtype is required`);
    const raw = lbl.src.read(h.shape[0] * t.bytes, 'label data (array shorter than its header declares)');
    labels = decodeLabels(raw, h, lbl.where);
  } finally {
    lbl.src.close();
  }
  const labelBytes = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    if (!(v >= 0 && v < numClasses)) {
      throw new Error(`${lbl.where}: label ${v} at index ${i} is out of range 0..${numClasses - 1}`);
    }
    labelBytes[i] = v;
  }

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
    if (n !== labels.length) throw new Error(`${img.where}: ${n} images but ${labels.length} labels in ${lbl.where}; the lengths must match`);
    if (!height || !width || !channels) throw new Error(`${img.where}: image shape (${h.shape.join(', ')}) has an empty dimension`);
    if (channels !== 1 && channels !== 3) throw new Error(`${img.where}: images have ${channels} channels; 1 or 3 expected (NHWC order)`);
    ctx.builder.setShape([height, width, channels], img.where);
    const writer = ctx.builder.split('train');
    const imageBytes = height * width * channels;
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
  return readImageLabelArrays(
    zipMemberOpener(file, byKey.get(imageKey)!, ctx.maxExpandedBytes),
    zipMemberOpener(file, byKey.get(labelKey)!, ctx.maxExpandedBytes),
    ctx,
    limits,
  );
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
