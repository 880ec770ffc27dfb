/**
 * Hostile files, generated here: bombs are refused as bombs within bounded memory, impossible
 * headers are refused before anything is allocated, and every refusal names the file and leaves
 * no row and no folder behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { peakRssRise } from '../../helpers/memory';
import { expectImportRejected, tempService } from './helpers';
import { idxFile, int64Labels, npyFile, pngFile, pseudoBytes, repeatedGzip, tarFile, tarHeader, write, zeroGzip, zipFile } from './writers';

const MiB = 1024 * 1024;
/** What a refused bomb may add to the process's memory at its peak. */
const RSS_BOUND = 500 * MiB;

let t: ReturnType<typeof tempService> | undefined;
afterEach(() => t?.cleanup());

function setup(opts: Parameters<typeof tempService>[0] = {}): string {
  t = tempService(opts);
  const src = path.join(t.dir, 'src');
  fs.mkdirSync(src);
  return src;
}

function idxHeaderOnly(dims: number[]): Uint8Array {
  return idxFile(dims, new Uint8Array(0));
}

describe('decompression bombs are refused as bombs, in bounded memory', () => {
  it('a .tar.gz of zeros (1 GiB behind ~1 MB) under the default limit', async () => {
    const src = setup();
    // one CIFAR-named entry whose header claims 4 GiB, then zeros
    const bomb = zeroGzip(1024, tarHeader('cifar-10-batches-bin/data_batch_1.bin', 4 * 1024 ** 3));
    expect(bomb.length).toBeLessThan(1.5 * MiB);
    const file = write(src, 'cifar-10-binary.tar.gz', bomb);
    const { rise, result } = await peakRssRise(() =>
      expectImportRejected(t!, { path: file, name: 'x' }, file, /expands past \d+\.\d MiB from .* \(over 50:1\): refused as a decompression bomb/),
    );
    if (result instanceof Error) throw result;
    expect(rise).toBeLessThan(RSS_BOUND);
  });

  it('a less repetitive .tar.gz (~78:1, as the 130 MB archive that once wrote 10 GB) stops at the ratio floor', async () => {
    const src = setup();
    // each MiB: 12 KiB of noise, then zeros
    const chunk = new Uint8Array(MiB);
    chunk.set(pseudoBytes(12 * 1024, 9));
    const file = write(src, 'big.tar.gz', repeatedGzip(chunk, 1024, tarHeader('data/train.bin', 8 * 1024 ** 3 - 1)));
    const ratio = (1024 * MiB) / fs.statSync(file).size;
    expect(ratio).toBeGreaterThan(60);
    expect(ratio).toBeLessThan(100);
    // refused just past the 256 MiB floor: that is all that reached the disk (and it is gone again)
    await expectImportRejected(
      t!,
      { path: file, name: 'x' },
      file,
      /expands past 2[5-9]\d\.\d MiB from [\d.]+ MiB of compressed data \(over 50:1\): refused as a decompression bomb/,
    );
  });

  it('a gzip stream past a configured limit, counted while it streams', async () => {
    const src = setup({ maxExpandedBytes: 64 * MiB });
    const file = write(src, 'big.tar.gz', zeroGzip(512, tarHeader('data/train-images-idx3-ubyte', 4 * 1024 ** 3 - 1)));
    const { rise, result } = await peakRssRise(() =>
      expectImportRejected(
        t!,
        { path: file, name: 'x' },
        file,
        /expands past 64\.0 MiB, the limit for decompressed data in one import: refused as a decompression bomb/,
      ),
    );
    if (result instanceof Error) throw result;
    expect(rise).toBeLessThan(RSS_BOUND);
  });

  it('the size budget is shared by every file of one import', async () => {
    const src = setup({ maxExpandedBytes: 3 * MiB });
    // each images file alone fits (2 MiB), together they do not
    write(src, 'train-images-idx3-ubyte.gz', zeroGzip(0, idxFile([2048, 32, 32], new Uint8Array(2 * MiB))));
    write(src, 'train-labels-idx1-ubyte.gz', zeroGzip(0, idxFile([2048], new Uint8Array(2048))));
    write(src, 't10k-images-idx3-ubyte.gz', zeroGzip(0, idxFile([2048, 32, 32], new Uint8Array(2 * MiB))));
    write(src, 't10k-labels-idx1-ubyte.gz', zeroGzip(0, idxFile([2048], new Uint8Array(2048))));
    await expectImportRejected(t!, { path: src, name: 'x' }, 'train-images-idx3-ubyte.gz', /expands past 3\.0 MiB.*header declares 2\.0 MiB/);
  });

  it('a gzipped label file declaring 3 billion labels is refused from its header, before inflating', async () => {
    const src = setup();
    write(src, 'train-images-idx3-ubyte', idxFile([2, 2, 2], pseudoBytes(8, 1)));
    write(src, 'train-labels-idx1-ubyte.gz', zeroGzip(1024, idxHeaderOnly([3_000_000_000])));
    const { rise, result } = await peakRssRise(() =>
      expectImportRejected(t!, { path: src, name: 'x' }, 'train-images-idx3-ubyte', /2 images but .*train-labels-idx1-ubyte\.gz has 3000000000 labels/),
    );
    if (result instanceof Error) throw result;
    expect(rise).toBeLessThan(RSS_BOUND);
  });

  it('a gzipped IDX whose header declares more than the limit is refused before inflating', async () => {
    const src = setup({ maxExpandedBytes: 64 * MiB });
    write(src, 'train-images-idx3-ubyte.gz', zeroGzip(1, idxHeaderOnly([1_000_000, 28, 28])));
    write(src, 'train-labels-idx1-ubyte.gz', zeroGzip(1, idxHeaderOnly([1_000_000])));
    await expectImportRejected(t!, { path: src, name: 'x' }, 'train-images-idx3-ubyte.gz', /expands past 64\.0 MiB.*header declares 747\.7 MiB/);
  });

  it('a PNG whose header says 20000×20000 is refused from its IHDR, without decoding', async () => {
    const src = setup();
    const forged = pngFile(20000, 20000, null, { idat: new Uint8Array([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]) });
    expect(forged.length).toBeLessThan(80);
    write(src, 'cat/a.png', forged);
    write(src, 'dog/b.png', forged);
    const { rise, result } = await peakRssRise(() =>
      expectImportRejected(t!, { path: src, name: 'x' }, path.join(src, 'cat', 'a.png'), /20000×20000 pixels are past the limit of 4096×4096/),
    );
    if (result instanceof Error) throw result;
    expect(rise).toBeLessThan(RSS_BOUND);
  });

  it('a JPEG whose frame header says 20000×20000 is refused before decoding', async () => {
    const src = setup();
    // SOI, a baseline SOF0 of 20000×20000 with 3 components, EOI: 23 bytes
    const sof = Buffer.from([0xff, 0xc0, 0x00, 0x11, 0x08, 0x4e, 0x20, 0x4e, 0x20, 0x03, 0x01, 0x11, 0x00, 0x02, 0x11, 0x00, 0x03, 0x11, 0x00]);
    write(src, 'cat/a.jpg', Buffer.concat([Buffer.from([0xff, 0xd8]), sof, Buffer.from([0xff, 0xd9])]));
    const { rise, result } = await peakRssRise(() =>
      expectImportRejected(t!, { path: src, name: 'x' }, path.join(src, 'cat', 'a.jpg'), /unreadable image \(maxResolutionInMP limit exceeded/),
    );
    if (result instanceof Error) throw result;
    expect(rise).toBeLessThan(RSS_BOUND);
  });

  it('a folder of PNGs of zeros expanding past the limit', async () => {
    const src = setup({ maxExpandedBytes: 3 * MiB });
    const zeros = pngFile(1024, 1024, new Uint8Array(1024 * 1024 * 3));
    expect(zeros.length).toBeLessThan(16 * 1024);
    for (let i = 0; i < 4; i++) write(src, `c${i % 2}/${i}.png`, zeros);
    await expectImportRejected(t!, { path: src, name: 'x' }, src, /c1.*3\.png: expands past 3\.0 MiB.*bomb/);
  });
});

describe('impossible headers and data are refused, naming the file', () => {
  const lbl = (labels: number[]) => npyFile('<i8', [labels.length], int64Labels(labels));

  it('a PNG whose data is shorter than its header says (pngjs would fill zeros)', async () => {
    const src = setup();
    write(src, 'cat/a.png', pngFile(2000, 2000, null, { idat: new Uint8Array([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]) }));
    await expectImportRejected(
      t!,
      { path: src, name: 'x' },
      path.join(src, 'cat', 'a.png'),
      /header says 2000×2000 pixels .* only 0: a forged or truncated image/,
    );
  });

  it('real PNGs still import, interlaced ones included, pixels exact', async () => {
    const src = setup();
    const a = pseudoBytes(7 * 5 * 3, 4);
    const b = pseudoBytes(7 * 5 * 3, 5);
    write(src, 'cat/a.png', pngFile(7, 5, a));
    write(src, 'dog/b.png', pngFile(7, 5, b, { interlace: true }));
    const info = await t!.service.importDataset({ path: src, name: 'pngs' });
    expect(info.shape).toEqual([5, 7, 3]);
    const p = t!.service.previewImages(info.id, { count: 2 });
    expect(Buffer.from(p.images[0])).toEqual(Buffer.from(a));
    expect(Buffer.from(p.images[1])).toEqual(Buffer.from(b));
  });

  it('.npy image shapes with negative or fractional dimensions (once stored as width -32 / 32.5)', async () => {
    const src = setup();
    for (const [name, dim] of [
      ['neg', '-32'],
      ['frac', '32.5'],
    ] as const) {
      const file = write(src, `${name}.npz`, zipFile({ 'image.npy': npyWithShape(`(2, 32, ${dim}, 3)`), 'label.npy': lbl([0, 1]) }));
      await expectImportRejected(
        t!,
        { path: file, name: 'x' },
        file,
        new RegExp(`member image\\.npy.*dimension '${dim.replace('.', '\\.')}' of shape .*whole number`),
      );
    }
  });

  it('.npy labels of shape (32.5,)', async () => {
    const src = setup();
    const file = write(src, 'g.npz', zipFile({ 'image.npy': npyFile('|u1', [1, 2, 2, 3], new Uint8Array(12)), 'label.npy': npyWithShape('(32.5,)', '<i8') }));
    await expectImportRejected(t!, { path: file, name: 'x' }, file, /member label\.npy.*dimension '32\.5' of shape \(32\.5,\)/);
  });

  it('.npy labels of an unsupported dtype, and a header too long to be one', async () => {
    const src = setup();
    const strings = write(
      src,
      's.npz',
      zipFile({ 'image.npy': npyFile('|u1', [1, 2, 2, 3], new Uint8Array(12)), 'label.npy': npyFile('<U3', [1], new Uint8Array(12)) }),
    );
    await expectImportRejected(t!, { path: strings, name: 'x' }, strings, /labels have dtype <U3; an integer dtype is required/);
    // a version 2.0 header declaring 100 MiB
    const long = Buffer.alloc(16);
    long[0] = 0x93;
    long.write('NUMPY', 1, 'latin1');
    long[6] = 2;
    long.writeUInt32LE(100 * MiB, 8);
    const file = write(src, 'l.npz', zipFile({ 'image.npy': long, 'label.npy': lbl([0]) }));
    await expectImportRejected(t!, { path: file, name: 'x' }, file, /header of 104857600 bytes, past the limit/);
  });

  it('.npy images larger than 4096×4096 per image', async () => {
    const src = setup();
    const file = write(src, 'g.npz', zipFile({ 'image.npy': npyFile('|u1', [1, 5000, 5000], new Uint8Array(0)), 'label.npy': lbl([0]) }));
    await expectImportRejected(t!, { path: file, name: 'x' }, file, /5000×5000 pixels are past the limit of 4096×4096/);
  });

  it('a stored .npy whose header declares more data than the file holds is refused before reading', async () => {
    const src = setup();
    const file = write(src, 'g.npz', zipFile({ 'image.npy': npyFile('|u1', [1_000_000, 64, 64, 3], new Uint8Array(100)), 'label.npy': lbl([0]) }));
    await expectImportRejected(
      t!,
      { path: file, name: 'x' },
      file,
      /member image\.npy.*truncated: the header declares 12288000000 bytes of data but 100 follow/,
    );
    const file2 = write(src, 'h.npz', zipFile({ 'image.npy': npyFile('|u1', [2, 64, 64, 3], new Uint8Array(100)), 'label.npy': lbl([0, 1]) }));
    await expectImportRejected(t!, { path: file2, name: 'y' }, file2, /truncated: the header declares 24576 bytes of data but 100 follow/);
  });

  it('IDX labels at or past the class count (200 would have made 201 classes)', async () => {
    const src = setup();
    write(src, 'train-images-idx3-ubyte', idxFile([3, 2, 2], pseudoBytes(12, 1)));
    write(src, 'train-labels-idx1-ubyte', idxFile([3], Uint8Array.of(1, 200, 3)));
    await expectImportRejected(t!, { path: src, name: 'x' }, path.join(src, 'train-labels-idx1-ubyte'), /label 200 at index 1 is out of range 0\.\.9/);
    // with class names given, the names set the count
    write(src, 'train-labels-idx1-ubyte', idxFile([3], Uint8Array.of(1, 10, 3)));
    const names = Array.from({ length: 11 }, (_, i) => `c${i}`);
    const ok = await t!.service.importDataset({ path: src, name: 'eleven', classNames: names });
    expect(ok.classes).toHaveLength(11);
  });

  it('an IDX file with 0 images', async () => {
    const src = setup();
    write(src, 'train-images-idx3-ubyte', idxHeaderOnly([0, 28, 28]));
    write(src, 'train-labels-idx1-ubyte', idxHeaderOnly([0]));
    await expectImportRejected(t!, { path: src, name: 'x' }, path.join(src, 'train-images-idx3-ubyte'), /holds 0 images/);
  });

  it('an .npz with 0 images', async () => {
    const src = setup();
    const file = write(src, 'empty.npz', zipFile({ 'image.npy': npyFile('|u1', [0, 2, 2, 3], new Uint8Array(0)), 'label.npy': lbl([]) }));
    await expectImportRejected(t!, { path: file, name: 'x' }, file, /member image\.npy.*holds 0 images/);
  });

  it('an IDX file whose images are past 4096×4096, or whose raw data is shorter than declared', async () => {
    const src = setup();
    write(src, 'train-images-idx3-ubyte', idxHeaderOnly([1, 4097, 4096]));
    write(src, 'train-labels-idx1-ubyte', idxFile([1], Uint8Array.of(0)));
    await expectImportRejected(t!, { path: src, name: 'x' }, path.join(src, 'train-images-idx3-ubyte'), /4096×4097 pixels are past the limit/);
    write(src, 'train-images-idx3-ubyte', idxFile([60000, 28, 28], new Uint8Array(1000)));
    await expectImportRejected(
      t!,
      { path: src, name: 'x' },
      path.join(src, 'train-images-idx3-ubyte'),
      /truncated: the header declares 47040000 bytes of data but 1000 follow/,
    );
  });

  it('archives with more entries than any dataset (a tar of 500k+ members, a zip directory claiming 600k)', async () => {
    const src = setup();
    // one directory header repeated: ~256 MiB of tar behind a small gzip, nothing written per entry
    const h = tarHeader('d/', 0);
    h[156] = '5'.charCodeAt(0);
    const flush = { finishFlush: zlib.constants.Z_SYNC_FLUSH, level: 9 };
    const block = zlib.deflateRawSync(Buffer.concat(Array<Buffer>(2048).fill(h)), flush);
    const gzHeader = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    const file = write(src, 'many.tar.gz', Buffer.concat([gzHeader, ...Array<Buffer>(250).fill(block), Buffer.from([0x03, 0x00]), Buffer.alloc(8)]));
    await expectImportRejected(t!, { path: file, name: 'x' }, file, /more than 500000 archive entries; refused/);

    const zip = Buffer.from(zipFile({ 'image.npy': npyFile('|u1', [1, 2, 2, 3], new Uint8Array(12)), 'label.npy': lbl([0]) }, { zip64: true }));
    const e64 = zip.indexOf(Buffer.from([0x50, 0x4b, 0x06, 0x06]));
    zip.writeBigUInt64LE(600_000n, e64 + 24);
    zip.writeBigUInt64LE(600_000n, e64 + 32);
    const npz = write(src, 'many.npz', zip);
    await expectImportRejected(t!, { path: npz, name: 'x' }, npz, /600000 zip members, more than 500000; refused/);
  });

  it('a tar whose long-name record claims a gigabyte', async () => {
    const src = setup();
    const h = tarHeader('././@LongLink', 1024 ** 3);
    h[156] = 'L'.charCodeAt(0);
    // recompute the checksum after changing the type
    h.write('        ', 148);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    const file = write(src, 'a.tar', Buffer.concat([h, Buffer.alloc(4096)]));
    await expectImportRejected(t!, { path: file, name: 'x' }, file, /a 1073741824-byte tar header record .*refused/);
    // and a well-formed tar still imports
    const ok = write(src, 'b.tar', tarFile({ 'd/image.npy': npyFile('|u1', [1, 2, 2, 3], new Uint8Array(12)), 'd/label.npy': lbl([0]) }));
    expect((await t!.service.importDataset({ path: ok, name: 'ok' })).splits.train?.count).toBe(1);
  });
});

/** A .npy v1.0 file whose header's shape is the given text (numbers the writer would not produce). */
function npyWithShape(shapeText: string, descr = '|u1'): Buffer {
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  dict += ' '.repeat((64 - ((10 + dict.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head[0] = 0x93;
  head.write('NUMPY', 1, 'latin1');
  head[6] = 1;
  head.writeUInt16LE(dict.length, 8);
  return Buffer.concat([head, Buffer.from(dict, 'latin1'), Buffer.alloc(64)]);
}
