import fs from 'node:fs';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
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

/** RGBA pixels of a PNG or JPEG; the error names the file. */
function decode(file: string): { width: number; height: number; rgba: Uint8Array } {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`${file}: cannot read image (${(e as Error).message})`);
  }
  try {
    if (/\.png$/i.test(file)) {
      const png = PNG.sync.read(buf);
      return { width: png.width, height: png.height, rgba: png.data };
    }
    const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 512 });
    return { width: img.width, height: img.height, rgba: img.data };
  } catch (e) {
    throw new Error(`${file}: unreadable image (${(e as Error).message})`);
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
  const px = width * height;
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
        if (done % 256 === 0) await ctx.progress(done / all.length, `${done}/${all.length} images`);
      }
    }
  }
  return { classes };
}
