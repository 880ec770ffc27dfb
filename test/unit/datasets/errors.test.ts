import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assertUserChosenPath } from '../../../src-main/services/path-policy';
import { storedEntries, tempService } from './helpers';
import { cifarBatch, gz, idxFile, int64Labels, npyFile, pseudoBytes, write, zipFile } from './writers';

let t: ReturnType<typeof tempService>;
let src: string;
beforeEach(() => {
  t = tempService({ maxExpandedBytes: 2 * 1024 * 1024 });
  src = path.join(t.dir, 'src');
  fs.mkdirSync(src);
});
afterEach(() => t.cleanup());

/** The import fails with a message naming `file` and matching `problem`, and leaves nothing behind. */
async function expectRejected(req: Parameters<typeof t.service.importDataset>[0], file: string, problem: RegExp) {
  const before = t.service.list().length;
  const err = await t.service.importDataset(req).then(
    () => null,
    (e: Error) => e,
  );
  expect(err, 'import should fail').toBeInstanceOf(Error);
  expect(err!.message).toContain(file);
  expect(err!.message).toMatch(problem);
  expect(t.service.list()).toHaveLength(before);
  expect(storedEntries(t.dataDir).filter((e) => e.startsWith('.import-'))).toEqual([]);
}

function idxPair(dir: string, images: Uint8Array, labels: Uint8Array) {
  write(dir, 'train-images-idx3-ubyte', images);
  write(dir, 'train-labels-idx1-ubyte', labels);
}

describe('bad input is refused with the file and the problem named', () => {
  it('truncated CIFAR batch', async () => {
    const ok = cifarBatch(pseudoBytes(3 * 3072, 1), [1, 2, 3]);
    const file = write(src, 'data_batch_1.bin', ok.subarray(0, ok.length - 100));
    await expectRejected({ path: src, name: 'x' }, file, /not a multiple of the CIFAR-10 record size 3073.*truncated/);
    expect(storedEntries(t.dataDir)).toEqual([]);
  });

  it('CIFAR batch with the wrong record size (CIFAR-100 records named like CIFAR-10)', async () => {
    const file = write(src, 'data_batch_1.bin', cifarBatch(pseudoBytes(2 * 3072, 1), [1, 2], [0, 0]));
    await expectRejected({ path: src, name: 'x' }, file, /record size 3073/);
  });

  it('CIFAR-10 label byte out of range', async () => {
    const file = write(src, 'data_batch_1.bin', cifarBatch(pseudoBytes(2 * 3072, 1), [1, 12]));
    await expectRejected({ path: src, name: 'x' }, file, /label 12, outside 0\.\.9/);
  });

  it('IDX with a bad magic number', async () => {
    idxPair(src, idxFile([2, 3, 3], pseudoBytes(18, 1), 0x12340803), idxFile([2], Uint8Array.of(1, 2)));
    await expectRejected({ path: src, name: 'x' }, path.join(src, 'train-images-idx3-ubyte'), /bad magic number 0x12340803/);
  });

  it('IDX image and label counts that differ', async () => {
    idxPair(src, idxFile([3, 2, 2], pseudoBytes(12, 1)), idxFile([2], Uint8Array.of(1, 2)));
    await expectRejected({ path: src, name: 'x' }, path.join(src, 'train-images-idx3-ubyte'), /3 images but .*train-labels-idx1-ubyte has 2 labels/);
  });

  it('IDX shorter than its header declares', async () => {
    idxPair(src, idxFile([3, 2, 2], pseudoBytes(10, 1)), idxFile([3], Uint8Array.of(1, 2, 3)));
    await expectRejected({ path: src, name: 'x' }, path.join(src, 'train-images-idx3-ubyte'), /truncated/);
  });

  it('IDX without its label file', async () => {
    write(src, 'train-images-idx3-ubyte', idxFile([1, 2, 2], pseudoBytes(4, 1)));
    await expectRejected({ path: src, name: 'x', format: 'idx' }, 'train-images-idx3-ubyte', /labels file .* is missing/);
  });

  const img = (n: number) => npyFile('|u1', [n, 2, 2, 3], pseudoBytes(n * 12, 3));
  const lbl = (labels: number[]) => npyFile('<i8', [labels.length], int64Labels(labels));

  it('.npz with a missing key', async () => {
    const file = write(src, 'g.npz', zipFile({ 'image.npy': img(2), 'y_train.npy': lbl([0, 1]) }));
    await expectRejected({ path: file, name: 'x' }, file, /missing key 'label'; found keys: 'image', 'y_train'/);
  });

  it('.npz with images of the wrong dtype', async () => {
    const file = write(src, 'g.npz', zipFile({ 'image.npy': npyFile('<f4', [1, 2, 2, 3], new Uint8Array(48)), 'label.npy': lbl([0]) }));
    await expectRejected({ path: file, name: 'x' }, file, /member image\.npy.*dtype <f4; uint8/);
  });

  it('.npz with float labels', async () => {
    const file = write(src, 'g.npz', zipFile({ 'image.npy': img(1), 'label.npy': npyFile('<f8', [1], new Uint8Array(8)) }));
    await expectRejected({ path: file, name: 'x' }, file, /labels have dtype <f8; an integer dtype is required/);
  });

  it('.npz whose image and label lengths differ', async () => {
    const file = write(src, 'g.npz', zipFile({ 'image.npy': img(3), 'label.npy': lbl([0, 1]) }));
    await expectRejected({ path: file, name: 'x' }, file, /3 images but 2 labels/);
  });

  it(".npz with labels out of range (negative, or past the base dataset's classes)", async () => {
    const neg = write(src, 'neg.npz', zipFile({ 'image.npy': img(2), 'label.npy': lbl([0, -1]) }));
    await expectRejected({ path: neg, name: 'x' }, neg, /label -1 at index 1 is out of range 0\.\.255/);
    const base = await t.service.importDataset({
      path: write(src, 'base.npz', zipFile({ 'image.npy': img(2), 'label.npy': lbl([0, 1]) })),
      name: 'base',
      classNames: ['a', 'b'],
    });
    const gen = write(src, 'gen.npz', zipFile({ 'image.npy': img(2), 'label.npy': lbl([1, 2]) }));
    await expectRejected({ path: gen, name: 'gen', generatedFor: base.id }, gen, /label 2 at index 1 is out of range 0\.\.1/);
  });

  it('a generated set whose image shape differs from its base', async () => {
    const base = await t.service.importDataset({
      path: write(src, 'base.npz', zipFile({ 'image.npy': img(2), 'label.npy': lbl([0, 1]) })),
      name: 'base',
    });
    const gen = write(src, 'gen.npz', zipFile({ 'image.npy': npyFile('|u1', [1, 3, 3, 3], new Uint8Array(27)), 'label.npy': lbl([0]) }));
    await expectRejected({ path: gen, name: 'gen', generatedFor: 'base' }, gen, new RegExp(`3×3×3 but the base dataset "base" has 2×2×3`));
    expect(base.id).toBeGreaterThan(0);
  });

  it('a truncated .npz', async () => {
    const whole = zipFile({ 'image.npy': img(2), 'label.npy': lbl([0, 1]) });
    const file = write(src, 'g.npz', whole.subarray(0, whole.length - 30));
    await expectRejected({ path: file, name: 'x' }, file, /not a zip.*truncated/);
  });

  it('an empty folder', async () => {
    fs.mkdirSync(path.join(src, 'empty'));
    await expectRejected({ path: path.join(src, 'empty'), name: 'x', format: 'folder' }, path.join(src, 'empty'), /empty: no class sub-folders/);
    await expectRejected({ path: path.join(src, 'empty'), name: 'x' }, path.join(src, 'empty'), /cannot tell the dataset format/);
  });

  it('an unreadable image', async () => {
    write(src, 'cat/ok.png', Buffer.from('not a png at all'));
    await expectRejected({ path: src, name: 'x' }, path.join(src, 'cat', 'ok.png'), /unreadable image/);
  });

  it('a gzip file that expands past the limit', async () => {
    // a valid header declaring 100 MB of pixels, then zeros that compress ~1000:1
    const bomb = gz(idxFile([100, 1000, 1000], new Uint8Array(8 * 1024 * 1024)));
    expect(bomb.length).toBeLessThan(64 * 1024);
    write(src, 'train-images-idx3-ubyte.gz', bomb);
    write(src, 'train-labels-idx1-ubyte.gz', gz(idxFile([100], new Uint8Array(100))));
    await expectRejected({ path: src, name: 'x' }, 'train-images-idx3-ubyte.gz', /expands past 2\.0 MiB.*bomb/);
  });

  it('a deflated .npz member that declares a size past the limit', async () => {
    const file = write(
      src,
      'g.npz',
      zipFile({ 'image.npy': npyFile('|u1', [1000, 32, 32, 3], new Uint8Array(3_072_000)), 'label.npy': lbl(Array(1000).fill(0)) }, { deflate: true }),
    );
    await expectRejected({ path: file, name: 'x' }, file, /member image\.npy.*expands past 2\.0 MiB.*declares 2\.9 MiB.*bomb/);
  });

  it('a file that does not exist, and a name already taken', async () => {
    await expectRejected({ path: path.join(src, 'nope.npz'), name: 'x' }, 'nope.npz', /no such file/);
    const file = write(src, 'g.npz', zipFile({ 'image.npy': img(1), 'label.npy': lbl([0]) }));
    await t.service.importDataset({ path: file, name: 'taken' });
    await expect(t.service.importDataset({ path: file, name: 'taken' })).rejects.toThrow(/named "taken" already exists/);
  });
});

describe('assertUserChosenPath', () => {
  it('accepts paths inside a chosen root and refuses others, symlinks resolved', () => {
    const inside = write(src, 'a/b.npz', Uint8Array.of(1));
    expect(assertUserChosenPath(inside, [src])).toBe(fs.realpathSync(inside));
    expect(assertUserChosenPath(src, [src])).toBe(fs.realpathSync(src));
    expect(() => assertUserChosenPath(path.join(src, '..', 'puma.db'), [src])).toThrow(/puma\.db: refused: the path is outside the folders you chose/);
    expect(() => assertUserChosenPath('/etc/passwd', [src])).toThrow(/\/etc\/passwd: refused/);
    fs.symlinkSync('/etc', path.join(src, 'escape'));
    expect(() => assertUserChosenPath(path.join(src, 'escape', 'passwd'), [src])).toThrow(/refused/);
    expect(() => assertUserChosenPath(path.join(src, 'missing'), [src])).toThrow(/missing: no such file/);
    expect(() => assertUserChosenPath(inside, [])).toThrow(/refused/);
  });
});
