/**
 * The installers' configuration (electron-builder.ts), read the way electron-builder reads it,
 * and the packaged app's fuses (scripts/fuses.ts) applied through a stand-in flipFuses.
 * Packaging itself needs Electron's binary, which cannot be downloaded here.
 */
import { FuseV1Options, FuseVersion, getCurrentFuseWire, type FuseConfig } from '@electron/fuses';
import { FuseState, SENTINEL } from '@electron/fuses/dist/constants';
import { Arch } from 'electron-builder';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import config, { ICON } from '../../../electron-builder';
import { afterPack, fuseConfig, type PackedApp } from '../../../scripts/fuses';
import { drawIcon } from '../../../scripts/make-icon';
import { canForkWorkers } from '../../../src-main/processes';
import { electronBindingFile } from '../../../src-main/store/native-binding';
import { tempDir } from '../../helpers/tmp';

const root = path.resolve(import.meta.dirname, '../../..');
// electron-builder's own glob matcher, so the patterns mean here what they mean to it
const minimatch = createRequire(createRequire(import.meta.url).resolve('app-builder-lib/package.json'))('minimatch').minimatch as (
  file: string,
  pattern: string,
  options?: { dot?: boolean },
) => boolean;

/**
 * Whether electron-builder packs a file: production dependencies in node_modules are copied
 * unless a `!` pattern excludes them; the app's own files only where a pattern includes them.
 */
function packaged(file: string): boolean {
  let taken = file.startsWith('node_modules/');
  for (const p of config.files as string[]) {
    if (p.startsWith('!')) {
      if (minimatch(file, p.slice(1), { dot: true })) taken = false;
    } else if (minimatch(file, p, { dot: true })) taken = true;
  }
  return taken;
}
const unpacked = (file: string) => (config.asarUnpack as string[]).some((p) => minimatch(file, p, { dot: true }));
const targets = (t: unknown) => (t as Array<string | { target: string }>).map((x) => (typeof x === 'string' ? x : x.target));

describe('electron-builder configuration', () => {
  it('is the file electron-builder finds, and passes its schema', async () => {
    const require = createRequire(createRequire(import.meta.url).resolve('app-builder-lib/package.json'));
    const { getConfig } = require('./out/util/config/load') as {
      getConfig: (r: object, p: string | null) => Promise<{ configFile: string; result: Record<string, unknown> }>;
    };
    const { validateConfiguration } = require('./out/util/config/config') as { validateConfiguration: (c: object, l: object) => Promise<void> };
    const { DebugLogger } = require('builder-util') as { DebugLogger: new (enabled: boolean) => object };
    const found = await getConfig({ packageKey: 'build', configFilename: 'electron-builder', projectDir: root, packageMetadata: null }, null);
    expect(found.configFile).toBe(path.join(root, 'electron-builder.ts'));
    expect(found.result.appId).toBe(config.appId);
    await expect(validateConfiguration(found.result, new DebugLogger(false))).resolves.toBeUndefined();
  });

  it('packs the built app, its presets and the Electron build of better-sqlite3', () => {
    for (const f of [
      'package.json',
      'out/main/index.js',
      'out/main/job.js',
      'out/main/worker-main.js',
      'out/preload/index.cjs',
      'out/renderer/index.html',
      'out/renderer/assets/index-abc.js',
      'resources/presets/laptop.json',
    ]) {
      expect(packaged(f), f).toBe(true);
    }
    const electronBuild = path
      .relative(root, electronBindingFile(root, '143', 'linux', 'x64'))
      .split(path.sep)
      .join('/');
    expect(packaged(electronBuild)).toBe(true);
    // never sources, maps, the Node build, Electron itself or the Node-ABI tfjs bindings
    for (const f of [
      'src-main/app/main.ts',
      'out/main/index.js.map',
      'native/.stage-x1/node_modules/better-sqlite3/binding.gyp',
      'node_modules/better-sqlite3/build/Release/better_sqlite3.node',
      'node_modules/electron/dist/electron',
      'node_modules/@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node',
      'node_modules/tsx/dist/cli.mjs',
      'test/unit/app/packaging.test.ts',
    ]) {
      expect(packaged(f), f).toBe(false);
    }
    // the runtime parts of better-sqlite3 and the wasm backend stay
    expect(packaged('node_modules/better-sqlite3/lib/database.js')).toBe(true);
    expect(packaged('node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm')).toBe(true);
  });

  it('unpacks every native module and every wasm file from the asar archive', () => {
    expect(config.asar).toBe(true);
    const wasmDir = path.join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
    const wasm = fs.readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'));
    expect(wasm.length).toBeGreaterThanOrEqual(3);
    for (const f of wasm) expect(unpacked(`node_modules/@tensorflow/tfjs-backend-wasm/dist/${f}`), f).toBe(true);
    expect(unpacked('native/electron-143-linux-x64/better_sqlite3.node')).toBe(true);
    expect(unpacked('out/main/index.js')).toBe(false);
    // node_modules is never rebuilt in place for Electron (the CLI and tests load the Node build)
    expect(config.npmRebuild).toBe(false);
  });

  it('builds AppImage and .deb on Linux, dmg on macOS, nsis on Windows, for the pinned Electron', () => {
    expect(targets(config.linux?.target).sort()).toEqual(['AppImage', 'deb']);
    expect(targets(config.mac?.target)).toEqual(['dmg']);
    expect(targets(config.win?.target)).toEqual(['nsis']);
    expect(config.linux?.maintainer).toMatch(/<.+@.+>/); // .deb needs a maintainer with an email
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    expect(config.electronVersion).toBe(pkg.optionalDependencies.electron);
    expect(pkg.scripts.dist).toMatch(/scripts\/dist\.ts/);
    expect(config.afterPack).toBe(afterPack);
  });

  it('has the icon in resources/: the 512×512 PNG that scripts/make-icon.ts draws', () => {
    for (const icon of [config.linux?.icon, config.mac?.icon, config.win?.icon]) expect(icon).toBe(ICON);
    const png = PNG.sync.read(fs.readFileSync(path.join(root, ICON)));
    expect([png.width, png.height]).toEqual([512, 512]);
    const drawn = drawIcon();
    let worst = 0;
    for (let i = 0; i < png.data.length; i++) worst = Math.max(worst, Math.abs(png.data[i] - drawn.data[i]));
    expect(worst).toBeLessThanOrEqual(1);
    // opaque inside, transparent at the rounded corners
    expect(png.data[(256 * 512 + 256) * 4 + 3]).toBe(255);
    expect(png.data[3]).toBe(0);
  });
});

describe('fuses of the packaged app (afterPack)', () => {
  const app = (electronPlatformName: string, arch = Arch.x64): PackedApp => ({
    appOutDir: '/build/dist/out',
    electronPlatformName,
    arch,
    packager: { appInfo: { productFilename: 'PUMA Lab' }, executableName: 'puma-lab' },
  });

  it('flips the hardening fuses in the packed binary of each system', async () => {
    const calls: Array<[string, FuseConfig]> = [];
    const flip = async (file: string, fuses: FuseConfig) => (calls.push([file, fuses]), 0);
    await afterPack(app('linux'), flip);
    await afterPack(app('win32'), flip);
    await afterPack(app('darwin', Arch.arm64), flip);
    expect(calls.map(([f]) => f)).toEqual([
      path.join('/build/dist/out', 'puma-lab'),
      path.join('/build/dist/out', 'PUMA Lab.exe'),
      path.join('/build/dist/out', 'PUMA Lab.app'),
    ]);
    for (const [, fuses] of calls) {
      expect(fuses.version).toBe(FuseVersion.V1);
      expect(fuses[FuseV1Options.RunAsNode]).toBe(false);
      expect(fuses[FuseV1Options.EnableCookieEncryption]).toBe(true);
      expect(fuses[FuseV1Options.OnlyLoadAppFromAsar]).toBe(true);
      expect(fuses[FuseV1Options.EnableNodeOptionsEnvironmentVariable]).toBe(false);
      expect(fuses[FuseV1Options.EnableNodeCliInspectArguments]).toBe(false);
    }
  });

  it('re-signs ad hoc only on Apple silicon (flipping bits breaks its required signature)', () => {
    expect(fuseConfig(app('darwin', Arch.arm64)).resetAdHocDarwinSignature).toBe(true);
    expect(fuseConfig(app('darwin', Arch.x64)).resetAdHocDarwinSignature).toBe(false);
    expect(fuseConfig(app('linux', Arch.arm64)).resetAdHocDarwinSignature).toBe(false);
  });

  it('flips the bits of a binary carrying Electron’s fuse wire (the real @electron/fuses)', async () => {
    const t = tempDir();
    try {
      // Electron's layout: sentinel, wire version 1, wire length 8, one byte per fuse ('1' on, '0' off)
      const before = Buffer.from('\x7fELF code before');
      const after = Buffer.from('code after');
      const binary = path.join(t.dir, 'puma-lab');
      fs.writeFileSync(binary, Buffer.concat([before, Buffer.from(SENTINEL), Buffer.from([1, 8]), Buffer.from('10110001'), after]));
      await afterPack({ ...app('linux'), appOutDir: t.dir });
      const wire = (await getCurrentFuseWire(binary)) as unknown as Record<number, number>;
      expect(wire[FuseV1Options.RunAsNode]).toBe(FuseState.DISABLE);
      expect(wire[FuseV1Options.EnableCookieEncryption]).toBe(FuseState.ENABLE);
      expect(wire[FuseV1Options.EnableNodeOptionsEnvironmentVariable]).toBe(FuseState.DISABLE);
      expect(wire[FuseV1Options.EnableNodeCliInspectArguments]).toBe(FuseState.DISABLE);
      expect(wire[FuseV1Options.OnlyLoadAppFromAsar]).toBe(FuseState.ENABLE);
      // fuses not in the list keep what Electron shipped; the rest of the binary is untouched
      expect(wire[FuseV1Options.EnableEmbeddedAsarIntegrityValidation]).toBe(FuseState.DISABLE);
      expect(wire[FuseV1Options.GrantFileProtocolExtraPrivileges]).toBe(FuseState.ENABLE);
      const flipped = fs.readFileSync(binary);
      expect(flipped.subarray(0, before.length).equals(before)).toBe(true);
      expect(flipped.subarray(flipped.length - after.length).equals(after)).toBe(true);
    } finally {
      t.cleanup();
    }
  });

  it('refuses a platform it does not know, rather than flipping the wrong file', async () => {
    await expect(afterPack(app('freebsd'), async () => 0)).rejects.toThrow(/no known Electron binary for platform 'freebsd'/);
  });
});

describe('worker processes with RunAsNode off', () => {
  it('are forked under Node and unpackaged Electron, never from the packaged app', () => {
    const packed = path.join('/opt', 'PUMA Lab', 'resources', 'app.asar', 'out', 'main', 'job.js');
    expect(canForkWorkers({ node: '20.20.2' }, packed)).toBe(true);
    expect(canForkWorkers({ electron: '40.8.5' }, path.join(root, 'out', 'main', 'job.js'))).toBe(true);
    expect(canForkWorkers({ electron: '40.8.5' }, packed)).toBe(false);
    expect(canForkWorkers({ electron: '40.8.5' }, 'C:\\Program Files\\PUMA Lab\\resources\\app.asar\\out\\main\\job.js')).toBe(false);
    expect(canForkWorkers()).toBe(true); // this test process
  });
});
