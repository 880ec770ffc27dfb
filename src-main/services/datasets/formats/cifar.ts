import fs from 'node:fs';
import path from 'node:path';
import type { SplitName } from '../../../../src-shared/domain/datasets';
import { ByteSource } from '../bytes';
import type { ImportContext, ReadResult } from './context';

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const PIXELS = 32 * 32;
const IMAGE_BYTES = 3 * PIXELS;
const RECORDS_PER_CHUNK = 2048;

export type CifarVariant = 'cifar10' | 'cifar100';

/** The batch files of a CIFAR binary folder, in the order their records are stored. */
export function cifarFiles(dir: string, variant: CifarVariant): { split: SplitName; file: string }[] {
  const names =
    variant === 'cifar10'
      ? [...[1, 2, 3, 4, 5].map((i) => ({ split: 'train' as SplitName, name: `data_batch_${i}.bin` })), { split: 'test' as SplitName, name: 'test_batch.bin' }]
      : [
          { split: 'train' as const, name: 'train.bin' },
          { split: 'test' as const, name: 'test.bin' },
        ];
  return names.map((n) => ({ split: n.split, file: path.join(dir, n.name) })).filter((f) => fs.existsSync(f.file));
}

function readNames(file: string): string[] | undefined {
  if (!fs.existsSync(file)) return undefined;
  // read whole: 100 class names take a few hundred bytes
  if (fs.statSync(file).size > 1024 * 1024) throw new Error(`${file}: a class-name file of ${fs.statSync(file).size} bytes; refused`);
  const names = fs
    .readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter(Boolean);
  return names.length ? names : undefined;
}

/**
 * CIFAR-10 records: 1 label byte + 3072 pixel bytes (R plane, G plane, B plane, row-major).
 * CIFAR-100 records: coarse label byte + fine label byte + 3072 pixel bytes; the fine label is used.
 */
export async function readCifar(dir: string, variant: CifarVariant, ctx: ImportContext): Promise<ReadResult> {
  const files = cifarFiles(dir, variant);
  const label = variant === 'cifar10' ? 'CIFAR-10' : 'CIFAR-100';
  if (!files.length) {
    const expected = variant === 'cifar10' ? 'data_batch_1.bin … data_batch_5.bin, test_batch.bin' : 'train.bin, test.bin';
    throw new Error(`${dir}: no ${label} binary batches found (expected ${expected})`);
  }
  const labelBytes = variant === 'cifar10' ? 1 : 2;
  const numClasses = variant === 'cifar10' ? 10 : 100;
  const recordSize = labelBytes + IMAGE_BYTES;
  const sizes = files.map((f) => fs.statSync(f.file).size);
  for (let i = 0; i < files.length; i++) {
    if (sizes[i] === 0 || sizes[i] % recordSize !== 0) {
      throw new Error(
        `${files[i].file}: size ${sizes[i]} bytes is not a multiple of the ${label} record size ${recordSize} ` +
          `(${labelBytes} label byte${labelBytes > 1 ? 's' : ''} + 3072 pixel bytes): truncated batch or not a ${label} binary file`,
      );
    }
  }
  ctx.builder.setShape([32, 32, 3], files[0].file);
  const total = sizes.reduce((a, b) => a + b, 0);
  let done = 0;
  for (let fi = 0; fi < files.length; fi++) {
    const { split, file } = files[fi];
    const writer = ctx.builder.split(split);
    const src = ByteSource.raw(file);
    try {
      const records = sizes[fi] / recordSize;
      for (let r0 = 0; r0 < records; r0 += RECORDS_PER_CHUNK) {
        const n = Math.min(RECORDS_PER_CHUNK, records - r0);
        const raw = src.read(n * recordSize, `record ${r0}`);
        const images = new Uint8Array(n * IMAGE_BYTES);
        const labels = new Uint8Array(n);
        for (let r = 0; r < n; r++) {
          const rec = r * recordSize;
          const lbl = raw[rec + labelBytes - 1];
          if (lbl >= numClasses) {
            throw new Error(`${file}: record ${r0 + r} has label ${lbl}, outside 0..${numClasses - 1}: not a ${label} batch?`);
          }
          labels[r] = lbl;
          // planar CHW → interleaved HWC
          const px = rec + labelBytes;
          const out = r * IMAGE_BYTES;
          for (let p = 0; p < PIXELS; p++) {
            images[out + 3 * p] = raw[px + p];
            images[out + 3 * p + 1] = raw[px + PIXELS + p];
            images[out + 3 * p + 2] = raw[px + 2 * PIXELS + p];
          }
        }
        writer.writeImages(images);
        writer.writeLabels(labels);
        done += n * recordSize;
        await ctx.progress(done / total, `${path.basename(file)}: ${r0 + n}/${records}`);
      }
    } finally {
      src.close();
    }
  }
  const classes =
    variant === 'cifar10'
      ? (readNames(path.join(dir, 'batches.meta.txt')) ?? CIFAR10_CLASSES)
      : (readNames(path.join(dir, 'fine_label_names.txt')) ?? Array.from({ length: 100 }, (_, i) => String(i)));
  if (classes.length !== numClasses) {
    throw new Error(`${dir}: the class-name file lists ${classes.length} names, expected ${numClasses}`);
  }
  return { classes };
}
