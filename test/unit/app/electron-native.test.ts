/**
 * scripts/electron-native.ts: better-sqlite3 for Electron's ABI is built from a staged copy and
 * renamed into native/, never over node_modules/better-sqlite3/build (the Node build the CLI and
 * the tests load). @electron/rebuild needs Electron's headers from the network, so a stand-in
 * rebuild writes the binary it would have built.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { distBlocker } from '../../../scripts/dist';
import { installedElectron, prepareElectronNative, type RebuildRequest } from '../../../scripts/electron-native';
import { electronBindingFile, nativeBindingPath } from '../../../src-main/store/native-binding';
import { tempDir } from '../../helpers/tmp';

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

/** A project whose node_modules/better-sqlite3 holds a Node build. */
function project(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const pkg = path.join(t.dir, 'node_modules', 'better-sqlite3');
  fs.mkdirSync(path.join(pkg, 'build', 'Release'), { recursive: true });
  fs.mkdirSync(path.join(pkg, 'src'));
  fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'better-sqlite3', version: '12.6.2' }));
  fs.writeFileSync(path.join(pkg, 'binding.gyp'), '{}');
  fs.writeFileSync(path.join(pkg, 'src', 'better_sqlite3.cpp'), '// source');
  fs.writeFileSync(path.join(pkg, 'build', 'Release', 'better_sqlite3.node'), 'node build');
  return t.dir;
}

/** Records each request and "builds" what @electron/rebuild would, in the staged copy. */
function fakeRebuild(calls: Array<RebuildRequest & { staged: string[] }>, output = 'electron build') {
  return async (r: RebuildRequest) => {
    const copy = path.join(r.buildPath, 'node_modules', 'better-sqlite3');
    calls.push({ ...r, staged: fs.readdirSync(copy).sort() });
    fs.mkdirSync(path.join(copy, 'build', 'Release'), { recursive: true });
    fs.writeFileSync(path.join(copy, 'build', 'Release', 'better_sqlite3.node'), output);
  };
}

const target = { electronVersion: '40.8.5', abi: '143', platform: 'linux', arch: 'x64' };

describe('prepareElectronNative', () => {
  it('builds a staged copy and puts its binary where Electron processes look', async () => {
    const root = project();
    const calls: Array<RebuildRequest & { staged: string[] }> = [];
    const r = await prepareElectronNative({ root, ...target, rebuild: fakeRebuild(calls), log: () => {} });
    expect(r).toEqual({ file: electronBindingFile(root, '143', 'linux', 'x64'), built: true });
    expect(fs.readFileSync(r.file, 'utf8')).toBe('electron build');
    // the Node build is untouched
    expect(fs.readFileSync(path.join(root, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'), 'utf8')).toBe('node build');
    // one rebuild, of better-sqlite3 only, in a staging project under native/ (sources, no Node build)
    expect(calls).toHaveLength(1);
    const [c] = calls;
    expect(c).toMatchObject({ electronVersion: '40.8.5', arch: 'x64', onlyModules: ['better-sqlite3'], force: true });
    expect(path.dirname(c.buildPath)).toBe(path.join(root, 'native'));
    expect(c.projectRootPath).toBe(c.buildPath);
    expect(c.staged).toEqual(['binding.gyp', 'package.json', 'src']);
    // the staging folder is gone; the app finds the build
    expect(fs.readdirSync(path.join(root, 'native'))).toEqual(['electron-143-linux-x64']);
    expect(nativeBindingPath({ versions: { electron: '40.8.5', modules: '143' }, root, platform: 'linux', arch: 'x64' })).toBe(r.file);
  });

  it('keeps a build that is there, and rebuilds it when forced', async () => {
    const root = project();
    const calls: Array<RebuildRequest & { staged: string[] }> = [];
    await prepareElectronNative({ root, ...target, rebuild: fakeRebuild(calls, 'first'), log: () => {} });
    const again = await prepareElectronNative({ root, ...target, rebuild: fakeRebuild(calls, 'second'), log: () => {} });
    expect(again.built).toBe(false);
    expect(calls).toHaveLength(1);
    expect(fs.readFileSync(again.file, 'utf8')).toBe('first');
    const forced = await prepareElectronNative({ root, ...target, force: true, rebuild: fakeRebuild(calls, 'second'), log: () => {} });
    expect(forced.built).toBe(true);
    expect(fs.readFileSync(forced.file, 'utf8')).toBe('second');
    // another Electron gets a folder of its own
    const other = await prepareElectronNative({ root, ...target, electronVersion: '41.0.0', abi: '145', rebuild: fakeRebuild(calls, 'third'), log: () => {} });
    expect(fs.readdirSync(path.join(root, 'native')).sort()).toEqual(['electron-143-linux-x64', 'electron-145-linux-x64']);
    expect(fs.readFileSync(other.file, 'utf8')).toBe('third');
  });

  it('leaves no build and no staging folder when the rebuild fails', async () => {
    const root = project();
    const failing = async () => {
      throw new Error('gyp: Electron headers could not be downloaded');
    };
    await expect(prepareElectronNative({ root, ...target, rebuild: failing, log: () => {} })).rejects.toThrow(/headers could not be downloaded/);
    expect(fs.readdirSync(path.join(root, 'native'))).toEqual([]);
    const silent = async () => {}; // "succeeds" without a binary
    await expect(prepareElectronNative({ root, ...target, rebuild: silent, log: () => {} })).rejects.toThrow(/was not made/);
    expect(fs.readdirSync(path.join(root, 'native'))).toEqual([]);
    expect(() => nativeBindingPath({ versions: { electron: '40.8.5', modules: '143' }, root, platform: 'linux', arch: 'x64' })).toThrow(/npm start/);
  });

  it('says to install first when better-sqlite3 is not in node_modules', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    await expect(prepareElectronNative({ root: t.dir, ...target, rebuild: async () => {}, log: () => {} })).rejects.toThrow(
      `${path.join(t.dir, 'node_modules', 'better-sqlite3', 'package.json')} is missing; run npm install first`,
    );
  });
});

describe('finding the installed Electron', () => {
  it('asks its binary (run as Node) for the ABI, and reads its version', () => {
    const root = project();
    const pkg = path.join(root, 'node_modules', 'electron');
    fs.mkdirSync(pkg, { recursive: true });
    const binary = path.join(pkg, 'dist', 'electron');
    fs.mkdirSync(path.dirname(binary));
    // a stand-in binary: answers like `ELECTRON_RUN_AS_NODE=1 electron -p process.versions.modules`
    fs.writeFileSync(binary, '#!/bin/sh\n[ "$ELECTRON_RUN_AS_NODE" = 1 ] && [ "$1" = -p ] && [ "$2" = process.versions.modules ] && echo 143\n', {
      mode: 0o755,
    });
    fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'electron', version: '40.8.5', main: 'index.js' }));
    fs.writeFileSync(path.join(pkg, 'index.js'), `module.exports = ${JSON.stringify(binary)};`);
    fs.writeFileSync(path.join(root, 'package.json'), '{}');
    if (process.platform !== 'win32') expect(installedElectron(root)).toEqual({ binary, version: '40.8.5', abi: '143' });
    // the package without its binary (a failed download) is not an installed Electron
    fs.rmSync(binary);
    expect(installedElectron(root)).toBeNull();
    fs.rmSync(pkg, { recursive: true });
    expect(installedElectron(root)).toBeNull();
  });
});

describe('npm run dist without Electron', () => {
  it('says why it cannot package, and what to do', () => {
    expect(distBlocker(null)).toMatch(/Electron's binary is not installed here.*\n.*npm install.*npm run dist/s);
    expect(distBlocker({ binary: '/x/electron', version: '40.8.5', abi: '143' })).toBeNull();
  });

  const root = path.resolve(import.meta.dirname, '../../..');
  it.runIf(installedElectron(root) == null)('exits non-zero before building anything', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'scripts', 'dist.ts')], { cwd: root, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("npm run dist: Electron's binary is not installed here");
    expect(r.stdout).not.toMatch(/electron-vite|electron-builder/);
  });
});
