import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { tempService } from './helpers';

const DIR = '/usr/share/datasets/fashion-mnist';

// CI installs the apt package dataset-fashion-mnist; without it this suite is reported as skipped.
describe.skipIf(!fs.existsSync(DIR))("Debian's Fashion-MNIST", () => {
  const t = tempService();
  afterAll(() => t.cleanup());

  it('is found among the system datasets', () => {
    expect(t.service.detectSystemDatasets()).toContainEqual({ name: 'fashion-mnist', path: DIR, format: 'idx' });
  });

  it('imports 60000/10000 samples, 6000/1000 per class', async () => {
    const fractions: number[] = [];
    const info = await t.service.importDataset({ path: DIR, name: 'fashion-mnist' }, (f) => fractions.push(f));
    expect(info.format).toBe('idx');
    expect(info.shape).toEqual([28, 28, 1]);
    expect(info.classes).toHaveLength(10);
    expect(info.classes[9]).toBe('Ankle boot');
    expect(info.splits.train).toEqual({ count: 60000, perClass: Array(10).fill(6000) });
    expect(info.splits.test).toEqual({ count: 10000, perClass: Array(10).fill(1000) });
    expect(fractions.at(-1)).toBe(1);
    for (let i = 1; i < fractions.length; i++) expect(fractions[i]).toBeGreaterThanOrEqual(fractions[i - 1]);
    // stored bytes: N×28×28 uint8
    expect(fs.statSync(`${info.storageDir}/train-images.u8`).size).toBe(60000 * 784);
    const preview = t.service.previewImages(info.id, { split: 'test', offset: 0, count: 4 });
    expect(preview.images).toHaveLength(4);
    expect(preview.images[0].length).toBe(784);
    // the first Fashion-MNIST test image is an ankle boot (label 9)
    expect(preview.labels[0]).toBe(9);
    expect(t.service.list().map((d) => d.name)).toEqual(['fashion-mnist']);
  });
});
