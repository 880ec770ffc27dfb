import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { schemaVersion } from '../../../src-main/store/db';
import { storedEntries, tempService } from './helpers';
import { int64Labels, npyFile, pseudoBytes, write, zipFile } from './writers';

let t: ReturnType<typeof tempService>;
let npz: string;
beforeEach(() => {
  t = tempService();
  npz = write(
    t.dir,
    'g.npz',
    zipFile({ 'image.npy': npyFile('|u1', [5, 2, 3, 3], pseudoBytes(90, 1)), 'label.npy': npyFile('<i8', [5], int64Labels([0, 1, 1, 2, 0])) }),
  );
});
afterEach(() => t.cleanup());

describe('datasets in the log', () => {
  it('migration 0002 creates the datasets table', () => {
    expect(schemaVersion(t.db)).toBeGreaterThanOrEqual(2);
    const cols = (t.db.prepare('PRAGMA table_info(datasets)').all() as { name: string }[]).map((c) => c.name);
    expect(cols).toEqual(
      expect.arrayContaining(['id', 'name', 'format', 'source_path', 'hash', 'storage_dir', 'classes_json', 'splits_json', 'generated_for', 'created_at']),
    );
  });

  it('keeps the manifest as a row, readable after reopening', async () => {
    const info = await t.service.importDataset({ path: npz, name: 'g', classNames: ['a', 'b', 'c'] });
    const row = t.db.prepare('SELECT * FROM datasets WHERE id = ?').get(info.id) as Record<string, unknown>;
    expect(row.hash).toBe(info.hash);
    expect(JSON.parse(row.splits_json as string)).toEqual({ train: { count: 5, perClass: [2, 2, 1] } });
    expect(t.service.get(String(info.id))).toEqual(info);
    expect(() => t.service.get(999)).toThrow('No dataset with id 999');
    expect(() => t.service.get('nope')).toThrow('No dataset named "nope"');
    expect(() => t.service.classHistogram(info.id, 'test')).toThrow('Dataset "g" has no test split');
    expect(() => t.service.openSplit(info.id, 'test')).toThrow(/no test split/);
    const p = t.service.previewImages(info.id, { offset: 3, count: 10 });
    expect(p.labels).toEqual([2, 0]);
    expect(p.images.map((i) => i.length)).toEqual([18, 18]);
  });

  it('a failing manifest insert leaves neither a row nor a stored folder', async () => {
    t.db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON datasets BEGIN SELECT RAISE(ABORT, 'disk full'); END;`);
    await expect(t.service.importDataset({ path: npz, name: 'g' })).rejects.toThrow('disk full');
    expect(storedEntries(t.dataDir)).toEqual([]);
    t.db.exec('DROP TRIGGER refuse');
    const info = await t.service.importDataset({ path: npz, name: 'g' });
    expect(storedEntries(t.dataDir)).toEqual([info.hash]);
    expect(fs.existsSync(path.join(info.storageDir, 'train-images.u8'))).toBe(true);
  });
});
