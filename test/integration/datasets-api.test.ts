/**
 * The datasets operations dispatched through PumaApp (what both transports call): a small IDX
 * set written byte for byte in a temp folder is imported with progress events, listed, previewed
 * and counted; refused paths, bad payloads and browser-only limits give clear errors.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventMessage, Events } from '../../src-shared/api/contract';
import type { DatasetPreview } from '../../src-shared/api/ops/datasets';
import type { DatasetInfo } from '../../src-shared/domain/datasets';
import { forkJobLauncher } from '../../src-main/jobs/fork-launcher';
import { PumaApp } from '../../src-main/services/app';
import { browserImportRoots } from '../../src-main/services/path-policy';
import { tempDir } from '../helpers/tmp';
import { idxFile, pseudoBytes, write } from '../unit/datasets/writers';

const H = 6;
const W = 5;
const TRAIN = 30;
const TEST = 12;
const trainLabels = Array.from({ length: TRAIN }, (_, i) => (i * 7) % 4);
const testLabels = Array.from({ length: TEST }, (_, i) => i % 3);
const trainPixels = pseudoBytes(TRAIN * H * W, 11);

let app: PumaApp;
let cleanup: () => void;
let idxDir: string;
const events: EventMessage[] = [];

beforeAll(() => {
  const t = tempDir();
  cleanup = t.cleanup;
  idxDir = path.join(t.dir, 'tiny-idx');
  fs.mkdirSync(idxDir);
  write(idxDir, 'train-images-idx3-ubyte', idxFile([TRAIN, H, W], trainPixels));
  write(idxDir, 'train-labels-idx1-ubyte', idxFile([TRAIN], Uint8Array.from(trainLabels)));
  write(idxDir, 't10k-images-idx3-ubyte', idxFile([TEST, H, W], pseudoBytes(TEST * H * W, 12)));
  write(idxDir, 't10k-labels-idx1-ubyte', idxFile([TEST], Uint8Array.from(testLabels)));
  app = new PumaApp({ dbPath: path.join(t.dir, 'log.db'), launcher: forkJobLauncher(), mode: 'browser' });
  app.onEvent((m) => events.push(m));
});
afterAll(() => {
  app?.close();
  cleanup?.();
});

/** Starts an import through dispatch and waits for its 'datasets.imported' event. */
async function importThrough(op: 'datasets.import' | 'datasets.download', payload: unknown): Promise<Events['datasets.imported']> {
  const { importId } = (await app.dispatch(op, payload)) as { importId: string };
  expect(importId).toMatch(/^[0-9a-f-]{36}$/);
  for (;;) {
    const end = events.find((m) => m.name === 'datasets.imported' && (m.payload as Events['datasets.imported']).importId === importId);
    if (end) return end.payload as Events['datasets.imported'];
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('datasets operations', () => {
  let tiny: DatasetInfo;

  it('imports an IDX folder in the background, reporting progress as events', async () => {
    const end = await importThrough('datasets.import', { path: idxDir, name: 'tiny' });
    expect(end.error).toBeNull();
    tiny = end.dataset!;
    expect(tiny.format).toBe('idx');
    expect(tiny.shape).toEqual([H, W, 1]);
    expect(tiny.splits.train!.count).toBe(TRAIN);
    expect(tiny.splits.test!.count).toBe(TEST);
    const progress = events
      .filter((m) => m.name === 'datasets.progress' && (m.payload as Events['datasets.progress']).importId === end.importId)
      .map((m) => (m.payload as Events['datasets.progress']).fraction);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toBe(1);
    // nothing left running
    expect(await app.dispatch('datasets.imports', {})).toEqual([]);
  });

  it('lists and gets the imported dataset', async () => {
    const list = (await app.dispatch('datasets.list', {})) as DatasetInfo[];
    expect(list.map((d) => d.name)).toEqual(['tiny']);
    expect(await app.dispatch('datasets.get', { id: tiny.id })).toEqual(tiny);
  });

  it('previews images as base64 uint8 pixels with labels, paging through a split', async () => {
    const p = (await app.dispatch('datasets.preview', { id: tiny.id, split: 'train', offset: 8, count: 10 })) as DatasetPreview;
    expect(p).toMatchObject({ split: 'train', width: W, height: H, channels: 1, offset: 8, total: TRAIN });
    expect(p.labels).toEqual(trainLabels.slice(8, 18));
    const bytes = Buffer.from(p.pixels, 'base64');
    expect(bytes.length).toBe(10 * H * W);
    expect([...bytes]).toEqual([...trainPixels.subarray(8 * H * W, 18 * H * W)]);
    // the last page is short
    const last = (await app.dispatch('datasets.preview', { id: tiny.id, split: 'train', offset: 25, count: 64 })) as DatasetPreview;
    expect(last.labels).toHaveLength(5);
    // the payload survives JSON (the HTTP transport)
    expect(JSON.parse(JSON.stringify(last))).toEqual(last);
  });

  it('counts samples per class for each split', async () => {
    const expected = [0, 1, 2, 3].map((c) => trainLabels.filter((l) => l === c).length);
    expect(await app.dispatch('datasets.histogram', { id: tiny.id })).toEqual({ split: 'train', classes: tiny.classes, counts: tiny.splits.train!.perClass });
    expect(tiny.splits.train!.perClass.slice(0, 4)).toEqual(expected);
    const test = (await app.dispatch('datasets.histogram', { id: tiny.id, split: 'test' })) as { counts: number[] };
    expect(test.counts.slice(0, 3)).toEqual([4, 4, 4]);
  });

  it('refuses paths outside the allowed roots, naming the path and the roots', async () => {
    expect(browserImportRoots({ PUMA_DATA_ROOTS: `/srv/a${path.delimiter}/srv/b` })).toEqual(
      expect.arrayContaining(['/usr/share/datasets', '/tmp', '/media', '/mnt', '/srv/a', '/srv/b']),
    );
    await expect(app.dispatch('datasets.import', { path: '/etc', name: 'etc' })).rejects.toThrow(/\/etc: refused: the path is outside/);
    await expect(app.dispatch('datasets.import', { path: '/etc', name: 'etc' })).rejects.toMatchObject({ status: 400 });
    // a symlink inside an allowed root that points outside is refused too
    const link = path.join(path.dirname(idxDir), 'link-to-etc');
    fs.symlinkSync('/etc', link);
    await expect(app.dispatch('datasets.import', { path: link, name: 'linked' })).rejects.toThrow(/refused/);
    await expect(app.dispatch('datasets.import', { path: path.join(idxDir, 'missing'), name: 'x' })).rejects.toThrow(/missing: no such file or folder/);
  });

  it('rejects bad payloads, duplicate names, unreadable layouts and unknown ids before starting', async () => {
    await expect(app.dispatch('datasets.import', { path: idxDir })).rejects.toThrow(/Invalid request for datasets.import: [\s\S]*name/);
    await expect(app.dispatch('datasets.import', { path: idxDir, name: 'x', format: 'jpeg' })).rejects.toThrow(/format/);
    await expect(app.dispatch('datasets.import', { path: idxDir, name: 'x', extra: 1 })).rejects.toThrow(/extra/);
    await expect(app.dispatch('datasets.preview', { id: tiny.id, count: 5000 })).rejects.toThrow(/count/);
    await expect(app.dispatch('datasets.import', { path: idxDir, name: 'tiny' })).rejects.toThrow(/named "tiny" already exists/);
    const empty = path.join(path.dirname(idxDir), 'empty');
    fs.mkdirSync(empty);
    await expect(app.dispatch('datasets.import', { path: empty, name: 'empty' })).rejects.toThrow(/empty: cannot tell the dataset format/);
    await expect(app.dispatch('datasets.get', { id: 999 })).rejects.toThrow(/No dataset with id 999/);
    await expect(app.dispatch('datasets.histogram', { id: 999 })).rejects.toMatchObject({ status: 404 });
    expect((await app.dispatch('datasets.list', {})) as DatasetInfo[]).toHaveLength(1);
  });

  it('reports a failure found mid-import as the end event, leaving nothing behind', async () => {
    const bad = path.join(path.dirname(idxDir), 'truncated');
    fs.mkdirSync(bad);
    write(bad, 'train-images-idx3-ubyte', idxFile([TRAIN, H, W], pseudoBytes(TRAIN * H * W - 7, 3)));
    write(bad, 'train-labels-idx1-ubyte', idxFile([TRAIN], Uint8Array.from(trainLabels)));
    const end = await importThrough('datasets.import', { path: bad, name: 'truncated' });
    expect(end.dataset).toBeNull();
    expect(end.error).toMatch(/train-images-idx3-ubyte/);
    expect((await app.dispatch('datasets.list', {})) as DatasetInfo[]).toHaveLength(1);
  });

  it('offers system datasets with whether they are imported', async () => {
    const offers = (await app.dispatch('datasets.system', {})) as Array<{ name: string; path: string; importedAs: number | null }>;
    for (const o of offers) {
      expect(o.path.startsWith('/usr/share/datasets/')).toBe(true);
      expect(o.importedAs).toBeNull();
    }
    if (fs.existsSync('/usr/share/datasets/fashion-mnist')) expect(offers.map((o) => o.name)).toContain('fashion-mnist');
  });

  it('refuses the native file dialog in browser mode', async () => {
    await expect(app.dispatch('dialog.pickPath', { kind: 'folder' })).rejects.toThrow(/needs the desktop app/);
  });
});

describe('datasets operations in the Electron app', () => {
  let desktop: PumaApp;
  let dir: string;
  let done: () => void;
  beforeAll(() => {
    const t = tempDir();
    dir = t.dir;
    done = t.cleanup;
    desktop = new PumaApp({ dbPath: path.join(t.dir, 'desktop.db'), launcher: forkJobLauncher(), mode: 'electron' });
  });
  afterAll(() => {
    desktop?.close();
    done?.();
  });

  it('imports only what the user picked in the native dialog', async () => {
    // without a dialog (no Electron entry wired) the operation is refused
    await expect(desktop.dispatch('dialog.pickPath', { kind: 'folder' })).rejects.toThrow(/needs the desktop app/);
    // /tmp is fine in browser mode, but here only a picked path is
    await expect(desktop.dispatch('datasets.import', { path: idxDir, name: 'tiny' })).rejects.toThrow(/refused[\s\S]*Browse/);

    const picks: Array<string | null> = [null, idxDir];
    desktop.pathPicker = async (req) => {
      expect(req.kind).toBe('folder');
      return picks.shift() ?? null;
    };
    expect(await desktop.dispatch('dialog.pickPath', { kind: 'folder' })).toEqual({ path: null });
    expect(await desktop.dispatch('dialog.pickPath', { kind: 'folder', title: 'Choose a dataset' })).toEqual({ path: fs.realpathSync(idxDir) });

    const ended = new Promise<Events['datasets.imported']>((resolve) =>
      desktop.onEvent((m) => m.name === 'datasets.imported' && resolve(m.payload as Events['datasets.imported'])),
    );
    const { importId } = (await desktop.dispatch('datasets.import', { path: idxDir, name: 'tiny' })) as { importId: string };
    const end = await ended;
    expect(end.importId).toBe(importId);
    expect(end.dataset?.splits.train?.count).toBe(TRAIN);
    // a sibling of the picked folder was not picked
    const sibling = path.join(dir, 'other');
    fs.mkdirSync(sibling);
    await expect(desktop.dispatch('datasets.import', { path: sibling, name: 'other' })).rejects.toThrow(/refused/);
  });
});
