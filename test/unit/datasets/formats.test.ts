import fs from 'node:fs';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readZipDirectory } from '../../../src-main/services/datasets/formats/zip';
import { storedEntries, tempService } from './helpers';
import { cifarBatch, gz, idxFile, int64Labels, npyFile, pseudoBytes, tarFile, write, zipFile } from './writers';

let t: ReturnType<typeof tempService>;
let src: string;
beforeEach(() => {
  t = tempService();
  src = path.join(t.dir, 'src');
  fs.mkdirSync(src);
});
afterEach(() => t.cleanup());

function readStored(storageDir: string, split: string) {
  return {
    images: new Uint8Array(fs.readFileSync(path.join(storageDir, `${split}-images.u8`))),
    labels: Array.from(fs.readFileSync(path.join(storageDir, `${split}-labels.u8`))),
  };
}

function counts(labels: number[], k: number) {
  const c = Array(k).fill(0);
  for (const l of labels) c[l]++;
  return c;
}

/** Five train batches of 3 images and a test batch of 4, with their HWC pixels. */
function cifar10Files(dir: string) {
  const trainImgs = pseudoBytes(15 * 3072, 1);
  const trainLabels = Array.from({ length: 15 }, (_, i) => (i * 7) % 10);
  for (let b = 0; b < 5; b++) {
    write(dir, `data_batch_${b + 1}.bin`, cifarBatch(trainImgs.subarray(b * 3 * 3072, (b + 1) * 3 * 3072), trainLabels.slice(b * 3, b * 3 + 3)));
  }
  const testImgs = pseudoBytes(4 * 3072, 2);
  const testLabels = [3, 1, 4, 1];
  write(dir, 'test_batch.bin', cifarBatch(testImgs, testLabels));
  const names = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
  write(dir, 'batches.meta.txt', Buffer.from(names.join('\n') + '\n\n'));
  return { trainImgs, trainLabels, testImgs, testLabels, names };
}

describe('CIFAR binary', () => {
  it('round-trips CIFAR-10 batches (planar CHW on disk → HWC in the store)', async () => {
    const f = cifar10Files(src);
    const info = await t.service.importDataset({ path: src, name: 'c10' });
    expect(info.format).toBe('cifar10');
    expect(info.shape).toEqual([32, 32, 3]);
    expect(info.classes).toEqual(f.names);
    expect(info.splits.train).toEqual({ count: 15, perClass: counts(f.trainLabels, 10) });
    expect(info.splits.test).toEqual({ count: 4, perClass: counts(f.testLabels, 10) });
    const train = readStored(info.storageDir, 'train');
    expect(Buffer.compare(train.images, f.trainImgs)).toBe(0);
    expect(train.labels).toEqual(f.trainLabels);
    const test = readStored(info.storageDir, 'test');
    expect(Buffer.compare(test.images, f.testImgs)).toBe(0);
    expect(test.labels).toEqual(f.testLabels);
    expect(info.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(path.basename(info.storageDir)).toBe(info.hash);
    const manifest = JSON.parse(fs.readFileSync(path.join(info.storageDir, 'manifest.json'), 'utf8'));
    expect(manifest.splits.train.count).toBe(15);
    expect(t.service.get(info.id)).toEqual(info);
    expect(t.service.get('c10')).toEqual(info);
  });

  it('imports the downloaded .tar.gz directly, with the same content hash as the folder', async () => {
    cifar10Files(src);
    const files: Record<string, Uint8Array> = {};
    for (const n of fs.readdirSync(src)) files[`cifar-10-batches-bin/${n}`] = fs.readFileSync(path.join(src, n));
    const tgz = write(t.dir, 'cifar-10-binary.tar.gz', gz(tarFile(files)));
    const fromFolder = await t.service.importDataset({ path: src, name: 'folder' });
    const fromTar = await t.service.importDataset({ path: tgz, name: 'tar' });
    expect(fromTar.format).toBe('cifar10');
    expect(fromTar.hash).toBe(fromFolder.hash);
    expect(fromTar.storageDir).toBe(fromFolder.storageDir);
    expect(storedEntries(t.dataDir)).toEqual([fromFolder.hash]);
    // removing one manifest keeps the shared folder; removing both deletes it
    t.service.remove(fromFolder.id);
    expect(fs.existsSync(fromTar.storageDir)).toBe(true);
    t.service.remove('tar');
    expect(fs.existsSync(fromTar.storageDir)).toBe(false);
  });

  it('uses the fine label of CIFAR-100 records', async () => {
    const imgs = pseudoBytes(6 * 3072, 3);
    const fine = [0, 99, 42, 42, 7, 56];
    const coarse = [4, 19, 0, 0, 3, 12];
    write(src, 'train.bin', cifarBatch(imgs.subarray(0, 4 * 3072), fine.slice(0, 4), coarse.slice(0, 4)));
    write(src, 'test.bin', cifarBatch(imgs.subarray(4 * 3072), fine.slice(4), coarse.slice(4)));
    const names = Array.from({ length: 100 }, (_, i) => `fine${i}`);
    write(src, 'fine_label_names.txt', Buffer.from(names.join('\n')));
    const info = await t.service.importDataset({ path: src, name: 'c100', format: 'cifar100' });
    expect(info.format).toBe('cifar100');
    expect(info.classes).toEqual(names);
    expect(readStored(info.storageDir, 'train').labels).toEqual(fine.slice(0, 4));
    expect(readStored(info.storageDir, 'test').labels).toEqual(fine.slice(4));
    expect(Buffer.compare(readStored(info.storageDir, 'train').images, imgs.subarray(0, 4 * 3072))).toBe(0);
    expect(info.splits.train!.perClass[42]).toBe(2);
  });
});

describe('IDX', () => {
  function idxSet(dir: string, gzip: boolean) {
    const h = 5,
      w = 4;
    const trainImgs = pseudoBytes(12 * h * w, 4);
    const trainLabels = Array.from({ length: 12 }, (_, i) => i % 10);
    const testImgs = pseudoBytes(3 * h * w, 5);
    const testLabels = [9, 0, 5];
    const z = (d: Uint8Array) => (gzip ? gz(d) : d);
    const sfx = gzip ? '.gz' : '';
    write(dir, `train-images-idx3-ubyte${sfx}`, z(idxFile([12, h, w], trainImgs)));
    write(dir, `train-labels-idx1-ubyte${sfx}`, z(idxFile([12], Uint8Array.from(trainLabels))));
    write(dir, `t10k-images-idx3-ubyte${sfx}`, z(idxFile([3, h, w], testImgs)));
    write(dir, `t10k-labels-idx1-ubyte${sfx}`, z(idxFile([3], Uint8Array.from(testLabels))));
    return { trainImgs, trainLabels, testImgs, testLabels };
  }

  it('round-trips raw and gzipped IDX files to the same content', async () => {
    const f = idxSet(path.join(src, 'raw'), false);
    idxSet(path.join(src, 'gz'), true);
    const raw = await t.service.importDataset({ path: path.join(src, 'raw'), name: 'raw' });
    // a single file path points at its folder
    const gzd = await t.service.importDataset({ path: path.join(src, 'gz', 'train-images-idx3-ubyte.gz'), name: 'gz' });
    expect(raw.format).toBe('idx');
    expect(raw.shape).toEqual([5, 4, 1]);
    expect(gzd.hash).toBe(raw.hash);
    expect(raw.classes).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    const train = readStored(raw.storageDir, 'train');
    expect(Buffer.compare(train.images, f.trainImgs)).toBe(0);
    expect(train.labels).toEqual(f.trainLabels);
    expect(readStored(raw.storageDir, 'test').labels).toEqual(f.testLabels);
    expect(raw.splits.test!.perClass).toEqual(counts(f.testLabels, 10));
    const reader = t.service.openSplit(raw.id, 'train', { preload: false });
    expect(Array.from(reader.readIndices([3, 4, 10]))).toEqual([...f.trainImgs.subarray(60, 100), ...f.trainImgs.subarray(200, 220)]);
    reader.close();
  });
});

describe('npz / npy', () => {
  function npzArrays(n: number) {
    const images = pseudoBytes(n * 6 * 7 * 3, 6);
    const labels = Array.from({ length: n }, (_, i) => (i * 3) % 10);
    return { images, labels, image: npyFile('|u1', [n, 6, 7, 3], images), label: npyFile('<i8', [n], int64Labels(labels)) };
  }

  it.each([
    ['stored (np.savez)', {}],
    ['deflated (np.savez_compressed)', { deflate: true }],
    ['zip64 records (numpy force_zip64)', { zip64: true }],
  ])('round-trips an .npz, %s', async (_label, opts) => {
    const a = npzArrays(9);
    const file = write(src, 'gen.npz', zipFile({ 'image.npy': a.image, 'label.npy': a.label }, opts));
    const info = await t.service.importDataset({ path: file, name: 'gen' });
    expect(info.format).toBe('npz');
    expect(info.shape).toEqual([6, 7, 3]);
    expect(info.splits.test).toBeUndefined();
    expect(info.splits.train).toEqual({ count: 9, perClass: counts(a.labels, 10) });
    const stored = readStored(info.storageDir, 'train');
    expect(Buffer.compare(stored.images, a.images)).toBe(0);
    expect(stored.labels).toEqual(a.labels);
  });

  it('reads the central directory of a zip64 archive', () => {
    const a = npzArrays(2);
    const file = write(src, 'z.npz', zipFile({ 'image.npy': a.image, 'label.npy': a.label }, { zip64: true }));
    const entries = readZipDirectory(file);
    expect(entries.map((e) => [e.name, e.method, e.uncompressedSize])).toEqual([
      ['image.npy', 0, a.image.length],
      ['label.npy', 0, a.label.length],
    ]);
  });

  it('attaches a generated set to its base dataset (classes and shape from the base)', async () => {
    const baseImgs = pseudoBytes(4 * 6 * 7 * 3, 8);
    const base = await t.service.importDataset({
      path: write(
        src,
        'base.npz',
        zipFile({ 'image.npy': npyFile('|u1', [4, 6, 7, 3], baseImgs), 'label.npy': npyFile('|u1', [4], Uint8Array.of(0, 1, 2, 2)) }),
      ),
      name: 'base',
      classNames: ['a', 'b', 'c'],
    });
    expect(base.classes).toEqual(['a', 'b', 'c']);
    const genDir = path.join(src, 'pair');
    const images = pseudoBytes(5 * 6 * 7 * 3, 9);
    write(genDir, 'image.npy', npyFile('|u1', [5, 6, 7, 3], images));
    write(genDir, 'label.npy', npyFile('<i4', [5], new Uint8Array(Int32Array.of(2, 2, 1, 0, 2).buffer)));
    const gen = await t.service.importDataset({ path: genDir, name: 'gen', generatedFor: 'base' });
    expect(gen.format).toBe('npy');
    expect(gen.generatedFor).toBe(base.id);
    expect(gen.classes).toEqual(['a', 'b', 'c']);
    expect(gen.splits.train).toEqual({ count: 5, perClass: [1, 1, 3] });
    expect(t.service.generatedFor(base.id).map((d) => d.id)).toEqual([gen.id]);
    expect(Buffer.compare(readStored(gen.storageDir, 'train').images, images)).toBe(0);
  });
});

describe('image folder', () => {
  function png(w: number, h: number, rgb: Uint8Array): Buffer {
    const p = new PNG({ width: w, height: h });
    for (let i = 0; i < w * h; i++) {
      p.data[4 * i] = rgb[3 * i];
      p.data[4 * i + 1] = rgb[3 * i + 1];
      p.data[4 * i + 2] = rgb[3 * i + 2];
      p.data[4 * i + 3] = 255;
    }
    return PNG.sync.write(p);
  }

  it('imports one sub-folder per class with train/test splits; PNG pixels exact', async () => {
    const pix = [0, 1, 2, 3].map((i) => pseudoBytes(5 * 4 * 3, 20 + i));
    write(src, 'train/cat/a.png', png(5, 4, pix[0]));
    write(src, 'train/cat/b.png', png(5, 4, pix[1]));
    write(src, 'train/dog/c.png', png(5, 4, pix[2]));
    write(src, 'test/dog/d.png', png(5, 4, pix[3]));
    const rgba = new Uint8Array(5 * 4 * 4).fill(200);
    write(src, 'test/cat/e.jpg', jpeg.encode({ data: rgba, width: 5, height: 4 }, 95).data);
    const info = await t.service.importDataset({ path: src, name: 'imgs' });
    expect(info.format).toBe('folder');
    expect(info.shape).toEqual([4, 5, 3]);
    expect(info.classes).toEqual(['cat', 'dog']);
    expect(info.splits.train).toEqual({ count: 3, perClass: [2, 1] });
    expect(info.splits.test).toEqual({ count: 2, perClass: [1, 1] });
    const train = readStored(info.storageDir, 'train');
    expect(Buffer.compare(train.images, Buffer.concat([pix[0], pix[1], pix[2]]))).toBe(0);
    expect(train.labels).toEqual([0, 0, 1]);
    const test = readStored(info.storageDir, 'test');
    expect(test.labels).toEqual([0, 1]);
    // JPEG is lossy: a flat gray 200 stays within a few levels
    for (const v of test.images.subarray(0, 60)) expect(Math.abs(v - 200)).toBeLessThan(4);
    expect(t.service.classHistogram(info.id, 'train')).toEqual({ split: 'train', classes: ['cat', 'dog'], counts: [2, 1] });
  });

  it('stores gray images with one channel', async () => {
    const g = pseudoBytes(9, 30);
    const rgb = new Uint8Array(27);
    for (let i = 0; i < 9; i++) rgb.fill(g[i], 3 * i, 3 * i + 3);
    write(src, '0/x.png', png(3, 3, rgb));
    write(src, '1/y.png', png(3, 3, rgb));
    const info = await t.service.importDataset({ path: src, name: 'gray' });
    expect(info.shape).toEqual([3, 3, 1]);
    expect(Array.from(readStored(info.storageDir, 'train').images.subarray(0, 9))).toEqual(Array.from(g));
  });
});
