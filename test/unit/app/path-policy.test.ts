/**
 * The one path policy (src-main/services/path-policy.ts) on real folders and links: what a
 * request may name, files named inside files, and messages fit for an HTTP answer.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forkJobLauncher } from '../../../src-main/jobs/fork-launcher';
import { PumaApp } from '../../../src-main/services/app';
import { extractTar } from '../../../src-main/services/datasets/formats/tar';
import { ExpansionBudget } from '../../../src-main/services/limits';
import { assertUserChosenPath, marginSetIdsToFiles, resolveInside, scrubMessage } from '../../../src-main/services/path-policy';
import { MarginsRepo } from '../../../src-main/store/repos/margins';
import { tempDir } from '../../helpers/tmp';
import { tarFile, write } from '../datasets/writers';

let dir: string;
let cleanup: () => void;
let root: string;
let away: string;

beforeAll(() => {
  ({ dir, cleanup } = tempDir());
  root = path.join(dir, 'root');
  away = path.join(dir, 'away');
  fs.mkdirSync(root);
  fs.mkdirSync(away);
  fs.writeFileSync(path.join(away, 'secret'), 'top secret');
});
afterAll(() => cleanup());

describe('assertUserChosenPath', () => {
  it('gives the same refusal for an outside file whether or not it exists', () => {
    const refusal = (p: string) => {
      try {
        assertUserChosenPath(p, [root]);
      } catch (e) {
        return (e as Error).message.replace(p, 'P');
      }
      return 'accepted';
    };
    expect(refusal(path.join(away, 'secret'))).toMatch(/^P: refused: the path is outside the folders you chose/);
    expect(refusal(path.join(away, 'secret'))).toBe(refusal(path.join(away, 'nothing-here')));
    expect(refusal(path.join(dir, 'no-folder', 'x'))).toBe(refusal(path.join(away, 'secret')));
  });

  it('resolves links: out through a linked folder is refused, even for a missing file', () => {
    fs.symlinkSync(away, path.join(root, 'door'));
    expect(() => assertUserChosenPath(path.join(root, 'door', 'secret'), [root])).toThrow(/refused/);
    expect(() => assertUserChosenPath(path.join(root, 'door', 'missing'), [root])).toThrow(/refused/);
    expect(() => assertUserChosenPath(path.join(root, 'missing'), [root])).toThrow(/missing: no such file or folder/);
  });

  it('accepts a root given through a link, and files inside it as their real paths', () => {
    const f = write(root, 'a/b.bin', Uint8Array.of(1));
    const linkedRoot = path.join(dir, 'linked-root');
    fs.symlinkSync(root, linkedRoot);
    expect(assertUserChosenPath(path.join(linkedRoot, 'a', 'b.bin'), [linkedRoot])).toBe(fs.realpathSync(f));
    expect(assertUserChosenPath(path.join(root, 'a', '..', 'a', 'b.bin'), [root])).toBe(fs.realpathSync(f));
    // a sibling whose name starts like the root is not inside it
    fs.mkdirSync(`${root}-2`);
    expect(() => assertUserChosenPath(`${root}-2`, [root])).toThrow(/refused/);
  });

  it('refuses malformed paths', () => {
    expect(() => assertUserChosenPath('', [root])).toThrow(/not a valid path/);
    expect(() => assertUserChosenPath(`${root}/a\0b`, [root])).toThrow(/not a valid path/);
  });
});

describe('a chosen folder', () => {
  it('is refused when a link inside it leads out (an IDX file pointing elsewhere), before any read', async () => {
    const t = tempDir();
    const app = new PumaApp({ dbPath: path.join(t.dir, 'log.db'), launcher: forkJobLauncher(), mode: 'browser', allowedRoots: [root] });
    try {
      const idx = path.join(root, 'idx-with-link', 'raw');
      fs.mkdirSync(idx, { recursive: true });
      fs.symlinkSync(path.join(away, 'secret'), path.join(idx, 'train-images-idx3-ubyte'));
      const err = await app.dispatch('datasets.import', { path: path.dirname(idx), name: 'linked' }).catch((e: Error) => e);
      expect((err as Error).message).toMatch(/^path: .*idx-with-link: refused: raw\/train-images-idx3-ubyte is a link that leads outside the chosen folder/);
      expect(err).toMatchObject({ status: 400 });
      expect((err as Error).message).not.toContain('top secret');
      // links that stay inside, or inside the allowed folders, are fine
      fs.rmSync(path.join(idx, 'train-images-idx3-ubyte'));
      fs.writeFileSync(path.join(idx, 'real.bin'), 'x');
      fs.symlinkSync(path.join(idx, 'real.bin'), path.join(idx, 'alias.bin'));
      fs.writeFileSync(path.join(root, 'shared.bin'), 'y');
      fs.symlinkSync(path.join(root, 'shared.bin'), path.join(idx, 'shared.bin'));
      expect(app.paths.checkFolder(path.dirname(idx), 'path')).toBe(fs.realpathSync(path.dirname(idx)));
    } finally {
      app.close();
      t.cleanup();
    }
  });
});

describe('resolveInside (files named inside a file)', () => {
  it('keeps names inside the base folder and refuses the rest', () => {
    const base = path.join(root, 'model');
    fs.mkdirSync(base);
    expect(resolveInside(base, 'w/1.bin', 'model.json')).toBe(path.join(base, 'w', '1.bin'));
    expect(() => resolveInside(base, '../../away/secret', 'model.json')).toThrow(
      /model\.json: refused '..\/..\/away\/secret': it leads outside the folder of model\.json/,
    );
    expect(() => resolveInside(base, path.join(away, 'secret'), 'model.json')).toThrow(/an absolute path/);
    expect(() => resolveInside(base, 'C:\\Windows\\win.ini', 'model.json')).toThrow(/an absolute path/);
    expect(() => resolveInside(base, '.', 'model.json')).toThrow(/leads outside/);
    fs.symlinkSync(path.join(away, 'secret'), path.join(base, 'link.bin'));
    expect(() => resolveInside(base, 'link.bin', 'model.json')).toThrow(/links outside the folder of model\.json/);
  });

  it('refuses tar members that climb out of the folder they are unpacked in', async () => {
    const dest = path.join(dir, 'unpacked');
    fs.mkdirSync(dest);
    for (const name of ['../escaped.txt', '/tmp/escaped-abs.txt', 'ok/../../escaped.txt']) {
      const tar = write(dir, 'evil.tar', tarFile({ 'fine.txt': Uint8Array.of(1), [name]: Uint8Array.of(2) }));
      await expect(
        extractTar(tar, dest, new ExpansionBudget(), async () => {}),
        name,
      ).rejects.toThrow(/evil\.tar: refused .*(leads outside the archive|absolute path)/);
    }
    expect(fs.existsSync(path.join(dir, 'escaped.txt'))).toBe(false);
    expect(fs.readdirSync(dest)).toEqual(['fine.txt']);
  });
});

describe('scrubMessage', () => {
  it('drops stack frames and shortens paths outside the user folders', () => {
    const text = `Error: cannot open /var/lib/x/store.db for ${root}/m.npy\n    at open (/usr/lib/node_modules/puma/a.js:1:2)\n    at <anonymous>`;
    expect(scrubMessage(text, [root], '/opt/puma')).toBe(`Error: cannot open …/store.db for ${root}/m.npy`);
    expect(scrubMessage('bad /opt/puma/src-main/x.ts: file:///opt/other/y.js', [], '/opt/puma')).toBe('bad src-main/x.ts: …/y.js');
  });
});

describe('the policy of the desktop app', () => {
  it('lets a request name only what the user picked (and what it holds)', async () => {
    const t = tempDir();
    const app = new PumaApp({ dbPath: path.join(t.dir, 'log.db'), launcher: forkJobLauncher(), mode: 'electron' });
    try {
      const modelDir = path.join(root, 'picked-model');
      fs.mkdirSync(modelDir);
      fs.writeFileSync(path.join(modelDir, 'model.json'), 'not json at all');
      await expect(app.dispatch('models.import', { path: modelDir, name: 'm' })).rejects.toThrow(/path: .*refused[\s\S]*Browse/);
      app.pathPicker = async () => modelDir;
      expect(await app.dispatch('dialog.pickPath', { kind: 'folder' })).toEqual({ path: fs.realpathSync(modelDir) });
      expect(app.paths.roots()).toContain(fs.realpathSync(modelDir));
      // now it is read (and found wanting), without its text in the message
      const err = await app.dispatch('models.import', { path: modelDir, name: 'm' }).catch((e: Error) => e);
      expect((err as Error).message).toMatch(/model\.json: not valid JSON/);
      expect((err as Error).message).not.toContain('not json at all');
      expect(err).toMatchObject({ status: 400 });
      // the picked folder's sibling is still out
      await expect(app.dispatch('models.import', { path: away, name: 'm' })).rejects.toThrow(/refused/);
    } finally {
      app.close();
      t.cleanup();
    }
  });
});

describe('margin_set given as a margin set id', () => {
  it('becomes the file of a complete set of the log; unknown and unfinished sets are refused by name', async () => {
    const t = tempDir();
    const app = new PumaApp({ dbPath: path.join(t.dir, 'log.db'), launcher: forkJobLauncher(), mode: 'browser', allowedRoots: [root] });
    try {
      // the sets' dataset and model rows do not matter here: only the set row is read
      app.db.pragma('foreign_keys = OFF');
      const repo = new MarginsRepo(app.db);
      const base = { split: 'train' as const, modelId: 1, datasetId: 1, method: 'deepfool' as const, params: {} as never, count: 4, chunkSize: 4 };
      const done = repo.create({ ...base, key: 'k-done' });
      const file = path.join(app.dataDir, 'margins', `set-${done}.npy`);
      repo.complete(done, {
        file,
        summary: { count: 4, mean: 0, quantiles: { p01: 0, p10: 0, p50: 0, p90: 0, p99: 0 }, fraction_negative: 0, fraction_below_eps: null },
        gradEvalsPerSample: 1,
        samplesPerSecond: null,
      });
      const pending = repo.create({ ...base, key: 'k-pending' });
      app.db.pragma('foreign_keys = ON');

      expect(app.paths.configFiles({ strategy: 'puma', margin_set: done }, 'config')).toEqual({ strategy: 'puma', margin_set: file });
      expect(app.paths.configFiles({ margin_set: ` ${done} ` }, 'config').margin_set).toBe(file);
      expect(() => app.paths.configFiles({ margin_set: pending }, 'config')).toThrow(/config\.margin_set: margin set \d+ is not complete \(0 \/ 1 chunks\)/);
      expect(() => app.paths.configFiles({ margin_set: 99 }, 'config')).toThrow(/config\.margin_set: margin set 99 does not exist/);
      expect(() => app.paths.gridFiles({ margin_set: [done, path.join(away, 'secret')] }, 'grid')).toThrow(/grid\.margin_set\[1\]: .*refused/);
      // a sweep's arms (a template's) are checked like its base
      const arms = [{ margin_set: done }, { margin_set: path.join(away, 'secret') }];
      await expect(app.dispatch('experiments.plan', { kind: 'train', base: {}, arms })).rejects.toThrow(/arms\[1\]\.margin_set: .*refused/);
      // the CLI's way in: ids become files, paths stay the user's own
      expect(marginSetIdsToFiles(app, { margin_set: String(done) })).toEqual({ margin_set: file });
      expect(marginSetIdsToFiles(app, { margin_set: path.join(away, 'secret') })).toEqual({ margin_set: path.join(away, 'secret') });
    } finally {
      app.close();
      t.cleanup();
    }
  });
});
