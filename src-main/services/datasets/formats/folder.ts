import fs from 'node:fs';
import path from 'node:path';
import { Unzlib } from 'fflate';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { checkExpansionRatio, checkImageSize, formatBytes, LIMITS } from '../../limits';
import type { SplitName } from '../../../../src-shared/domain/datasets';
import type { ImportContext, ReadResult } from './context';

const IMAGE_EXT = /\.(png|jpe?g)$/i;
/** Images checked for colour before the channel count is fixed. */
const CHANNEL_PROBE = 16;

function subdirs(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .map((d) => d.name)
    .sort();
}

function imagesIn(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isFile() && IMAGE_EXT.test(d.name))
    .map((d) => path.join(dir, d.name))
    .sort();
}

/** Split folders → class folders → images; without train/test folders the root holds the classes. */
export function folderLayout(root: string): { split: SplitName; classDirs: Map<string, string[]> }[] {
  const top = subdirs(root);
  const splitRoots: { split: SplitName; dir: string }[] =
    top.includes('train') && top.every((d) => d === 'train' || d === 'test')
      ? top.map((d) => ({ split: d as SplitName, dir: path.join(root, d) }))
      : [{ split: 'train', dir: root }];
  return splitRoots.map(({ split, dir }) => {
    const classDirs = new Map<string, string[]>();
    for (const c of subdirs(dir)) {
      const files = imagesIn(path.join(dir, c));
      if (files.length) classDirs.set(c, files);
    }
    return { split, classDirs };
  });
}

export function looksLikeImageFolder(root: string): boolean {
  try {
    return folderLayout(root).some((s) => s.classDirs.size > 0);
  } catch {
    return false;
  }
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

class PastExpected extends Error {}

/**
 * Checks a PNG before decoding it: the IHDR's size within the image limits, and the IDAT data
 * inflating to exactly the bytes that size needs (pngjs fills missing rows with zeros, so a
 * 69-byte file could claim 20000×20000 pixels).
 */
export function checkPng(buf: Buffer, file: string): { width: number; height: number } {
  if (buf.length < 33 || !buf.subarray(0, 8).equals(PNG_SIGNATURE) || buf.toString('latin1', 12, 16) !== 'IHDR') {
    throw new Error(`${file}: unreadable image (not a PNG: bad signature or no IHDR)`);
  }
  const width = buf.readUInt32BE(16);
  const height = buf.readUInt32BE(20);
  const [bitDepth, colorType, , , interlace] = buf.subarray(24, 29);
  checkImageSize(height, width, file);
  const channels = PNG_CHANNELS[colorType];
  if (!channels || ![1, 2, 4, 8, 16].includes(bitDepth)) throw new Error(`${file}: unreadable image (PNG colour type ${colorType}, bit depth ${bitDepth})`);
  const bitsPerPixel = bitDepth * channels;
  const rowBytes = (w: number) => 1 + Math.ceil((w * bitsPerPixel) / 8);
  let expected = 0;
  if (interlace) {
    for (const [x0, y0, dx, dy] of ADAM7) {
      const w = Math.ceil((width - x0) / dx);
      const h = Math.ceil((height - y0) / dy);
      if (w > 0 && h > 0) expected += h * rowBytes(w);
    }
  } else expected = height * rowBytes(width);
  const idat: Buffer[] = [];
  for (let p = 8; p + 8 <= buf.length;) {
    const len = buf.readUInt32BE(p);
    const type = buf.toString('latin1', p + 4, p + 8);
    if (type === 'IDAT') idat.push(buf.subarray(p + 8, Math.min(buf.length, p + 8 + len)));
    if (type === 'IEND') break;
    p += 12 + len;
  }
  // counted as it streams, nothing kept: stops as soon as the data is longer than the rows need
  let got = 0;
  const counter = new Unzlib((chunk) => {
    got += chunk.length;
    if (got > expected) throw new PastExpected();
  });
  try {
    for (const part of idat) for (let p = 0; p < part.length; p += 32 * 1024) counter.push(part.subarray(p, p + 32 * 1024));
  } catch (e) {
    if (!(e instanceof PastExpected)) throw new Error(`${file}: unreadable image (corrupt PNG data: ${(e as Error).message})`, { cause: e });
  }
  if (got !== expected) {
    throw new Error(
      `${file}: the PNG header says ${width}×${height} pixels (${expected} bytes of rows) but its data holds ${got > expected ? 'more' : `only ${got}`}: a forged or truncated image; refused`,
    );
  }
  return { width, height };
}

/** RGBA pixels of a PNG or JPEG, its size checked from the header first; the error names the file. */
function decode(file: string): { width: number; height: number; rgba: Uint8Array } {
  let buf: Buffer;
  try {
    const size = fs.statSync(file).size;
    if (size > LIMITS.maxImageFileBytes) throw new Error(`${formatBytes(size)}, past the limit of ${formatBytes(LIMITS.maxImageFileBytes)} per image`);
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`${file}: cannot read image (${(e as Error).message})`, { cause: e });
  }
  if (/\.png$/i.test(file)) checkPng(buf, file);
  try {
    if (/\.png$/i.test(file)) {
      const png = PNG.sync.read(buf);
      return { width: png.width, height: png.height, rgba: png.data };
    }
    const img = jpeg.decode(buf, {
      useTArray: true,
      formatAsRGBA: true,
      // jpeg-js checks the frame header against these before allocating
      maxResolutionInMP: LIMITS.maxImagePixels / 1e6,
      maxMemoryUsageInMB: 256,
    });
    return { width: img.width, height: img.height, rgba: img.data };
  } catch (e) {
    throw new Error(`${file}: unreadable image (${(e as Error).message})`, { cause: e });
  }
}

function isGray(rgba: Uint8Array): boolean {
  for (let i = 0; i < rgba.length; i += 4) if (rgba[i] !== rgba[i + 1] || rgba[i] !== rgba[i + 2]) return false;
  return true;
}

/** One sub-folder per class (sorted names = class indices), PNG or JPEG, all the same size. */
export async function readImageFolder(root: string, ctx: ImportContext): Promise<ReadResult> {
  const layout = folderLayout(root);
  const train = layout.find((s) => s.split === 'train');
  if (!train || train.classDirs.size === 0) {
    throw new Error(`${root}: empty: no class sub-folders with PNG or JPEG images (expected ${root}/<class>/<image>.png)`);
  }
  const classes = [...train.classDirs.keys()];
  if (classes.length > 256) throw new Error(`${root}: ${classes.length} class folders; at most 256 are supported`);
  for (const s of layout) {
    for (const c of s.classDirs.keys()) {
      if (!classes.includes(c)) throw new Error(`${path.join(root, s.split, c)}: class "${c}" has no folder in the train split`);
    }
  }
  const all = layout.flatMap((s) => [...s.classDirs.values()].flat());
  const first = decode(all[0]);
  let channels = 1;
  for (const f of all.slice(0, CHANNEL_PROBE)) {
    if (!isGray(f === all[0] ? first.rgba : decode(f).rgba)) {
      channels = 3;
      break;
    }
  }
  const { width, height } = first;
  ctx.builder.setShape([height, width, channels], all[0]);
  checkImageSize(height, width, all[0]);
  const px = width * height;
  let stored = 0;
  let read = 0;
  let done = 0;
  for (const s of layout) {
    const writer = ctx.builder.split(s.split);
    for (const [cls, files] of s.classDirs) {
      const label = classes.indexOf(cls);
      for (const file of files) {
        const img = decode(file);
        if (img.width !== width || img.height !== height) {
          throw new Error(`${file}: image is ${img.width}×${img.height} but the others are ${width}×${height}; resize them to one size`);
        }
        // decoded pixels count against the import's budget, and against the files' sizes (a folder
        // of valid PNGs of zeros is a bomb too; the ratio allows flat synthetic images)
        ctx.budget.take(px * channels, file);
        stored += px * channels;
        read += fs.statSync(file).size;
        checkExpansionRatio(file, stored, read, LIMITS.maxImageExpansionRatio);
        const out = new Uint8Array(px * channels);
        const d = img.rgba;
        if (channels === 3) {
          for (let p = 0; p < px; p++) {
            out[3 * p] = d[4 * p];
            out[3 * p + 1] = d[4 * p + 1];
            out[3 * p + 2] = d[4 * p + 2];
          }
        } else {
          // ITU-R 601 luma, exact for gray pixels
          for (let p = 0; p < px; p++) out[p] = Math.round(0.299 * d[4 * p] + 0.587 * d[4 * p + 1] + 0.114 * d[4 * p + 2]);
        }
        writer.writeImages(out);
        writer.writeLabels(Uint8Array.of(label));
        done++;
        // every 256 small images, every 16 large ones: the event loop (the server) keeps answering
        if (done % (px > 256 * 256 ? 16 : 256) === 0) await ctx.progress(done / all.length, `${done}/${all.length} images`);
      }
    }
  }
  return { classes };
}
