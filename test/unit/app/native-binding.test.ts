/**
 * Which better-sqlite3 binary each process loads: Node's own build, or under Electron the build
 * for Electron's ABI in native/ (prepared by `npm start`). Electron cannot run here, so its
 * process.versions are given (or set on this process) instead.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultRoot, electronBindingFile, nativeBindingPath, unpackedPath } from '../../../src-main/store/native-binding';
import { openDatabase } from '../../../src-main/store/db';
import { tempDir } from '../../helpers/tmp';

const repo = path.resolve(import.meta.dirname, '../../..');
const electron40 = { electron: '40.8.5', modules: '143' };

/** Pretends this process is Electron (its version and ABI) until the test ends. */
function pretendElectron(version: string, abi: string): void {
  const real = Object.getOwnPropertyDescriptor(process.versions, 'modules')!;
  Object.defineProperty(process.versions, 'electron', { value: version, configurable: true, enumerable: true });
  Object.defineProperty(process.versions, 'modules', { ...real, value: abi });
  restore.push(() => {
    delete (process.versions as { electron?: string }).electron;
    Object.defineProperty(process.versions, 'modules', real);
  });
}
const restore: Array<() => void> = [];
afterEach(() => {
  while (restore.length) restore.pop()!();
});

describe('nativeBindingPath', () => {
  it('leaves Node on better-sqlite3’s own build', () => {
    expect(process.versions.electron).toBeUndefined();
    expect(nativeBindingPath()).toBeUndefined();
    expect(nativeBindingPath({ versions: { modules: '115' }, exists: () => false })).toBeUndefined();
  });

  it('gives Electron the build for its ABI, system and CPU', () => {
    const seen: string[] = [];
    const file = nativeBindingPath({ versions: electron40, root: '/opt/puma', platform: 'linux', arch: 'x64', exists: (f) => (seen.push(f), true) });
    expect(file).toBe(path.join('/opt/puma', 'native', 'electron-143-linux-x64', 'better_sqlite3.node'));
    expect(seen).toEqual([file]);
    // another Electron (another ABI) or CPU: another folder, never the Node build
    const other = nativeBindingPath({
      versions: { electron: '39.2.0', modules: '140' },
      root: '/opt/puma',
      platform: 'darwin',
      arch: 'arm64',
      exists: () => true,
    });
    expect(other).toBe(path.join('/opt/puma', 'native', 'electron-140-darwin-arm64', 'better_sqlite3.node'));
    expect(other).not.toContain(path.join('node_modules', 'better-sqlite3'));
  });

  it('loads the packaged build from app.asar.unpacked', () => {
    const root = path.join('/opt', 'PUMA Lab', 'resources', 'app.asar');
    const file = nativeBindingPath({ versions: electron40, root, platform: 'linux', arch: 'x64', exists: () => true })!;
    expect(file).toBe(path.join('/opt', 'PUMA Lab', 'resources', 'app.asar.unpacked', 'native', 'electron-143-linux-x64', 'better_sqlite3.node'));
    expect(unpackedPath('/home/u/app.asar.d/x.node')).toBe('/home/u/app.asar.d/x.node');
  });

  it('says how to prepare a missing Electron build', () => {
    const expected = electronBindingFile('/opt/puma', '143', 'linux', 'x64');
    expect(() => nativeBindingPath({ versions: electron40, root: '/opt/puma', platform: 'linux', arch: 'x64', exists: () => false })).toThrow(
      `better-sqlite3 has no build for Electron 40.8.5 (ABI 143): ${expected} is missing. Run \`npm start\` (it prepares one when missing) or \`npm run rebuild:electron\`.`,
    );
  });

  it('finds the project root from the sources (and from out/main, two folders down as well)', () => {
    expect(defaultRoot()).toBe(repo);
    expect(JSON.parse(fs.readFileSync(path.join(defaultRoot(), 'package.json'), 'utf8')).name).toBe('puma-lab');
    expect(fs.readFileSync(path.join(repo, '.gitignore'), 'utf8').split('\n')).toContain('/native/');
  });
});

describe('openDatabase under Electron', () => {
  it('refuses with the prepare hint, before creating the log, when the Electron build is missing', () => {
    const t = tempDir();
    try {
      pretendElectron('40.8.5', '9999'); // an ABI nobody has prepared a build for
      const file = path.join(t.dir, 'log.db');
      expect(() => openDatabase(file)).toThrow(/no build for Electron 40\.8\.5 \(ABI 9999\).*electron-9999-.*npm start/);
      expect(fs.existsSync(file)).toBe(false);
      expect(() => openDatabase(':memory:')).toThrow(/npm start/);
    } finally {
      t.cleanup();
    }
  });

  it('loads the binary found for Electron through nativeBinding', async () => {
    // A copy of Node's build stands in for the Electron one (same ABI as this process).
    const t = tempDir();
    try {
      const src = createRequire(import.meta.url).resolve('better-sqlite3/build/Release/better_sqlite3.node');
      const copy = path.join(t.dir, 'native', `electron-${process.versions.modules}-${process.platform}-${process.arch}`, 'better_sqlite3.node');
      fs.mkdirSync(path.dirname(copy), { recursive: true });
      fs.copyFileSync(src, copy);
      vi.resetModules();
      vi.doMock('../../../src-main/store/native-binding', async (importOriginal) => {
        const real = await importOriginal<typeof import('../../../src-main/store/native-binding')>();
        return { ...real, nativeBindingPath: () => real.nativeBindingPath({ root: t.dir }) };
      });
      const db = await import('../../../src-main/store/db');
      pretendElectron('40.8.5', process.versions.modules);
      const log = db.openDatabase(path.join(t.dir, 'log.db'));
      expect(log.prepare('SELECT 1 AS one').get()).toEqual({ one: 1 });
      log.close();
      // better-sqlite3 required the Electron build, not only its default one
      expect(Object.keys(createRequire(import.meta.url).cache)).toContain(copy);
    } finally {
      vi.doUnmock('../../../src-main/store/native-binding');
      t.cleanup();
    }
  });
});
