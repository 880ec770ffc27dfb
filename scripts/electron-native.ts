/**
 * Prepares better-sqlite3 for Electron's ABI in native/electron-<abi>-<platform>-<arch>/, beside
 * the Node build that the CLI and the tests keep using (src-main/store/native-binding.ts picks
 * one or the other at run time). `npm start` runs it when the build is missing; `npm run
 * rebuild:electron` runs it with --force; `npm run dist` runs it before packaging.
 *
 * Why a copy: @electron/rebuild rebuilds a package in place, and rebuilding
 * node_modules/better-sqlite3 for Electron would break every Node process. So the package is
 * copied into a staging folder under native/ (inside the project, so prebuild-install is found in
 * node_modules above it), rebuilt there, and only its binary is renamed into place.
 *
 * Usage: node --import tsx scripts/electron-native.ts [--force]
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BINDING_FILE, NATIVE_DIR, electronBindingFile } from '../src-main/store/native-binding';

const PACKAGE = 'better-sqlite3';

/** The part of @electron/rebuild's options this script uses (its `rebuild` fits). */
export interface RebuildRequest {
  buildPath: string;
  projectRootPath: string;
  electronVersion: string;
  arch: string;
  onlyModules: string[];
  force: boolean;
}
export type Rebuild = (options: RebuildRequest) => Promise<void>;

export interface PrepareOptions {
  root: string;
  electronVersion: string;
  /** Electron's ABI (its process.versions.modules). */
  abi: string;
  platform?: string;
  arch?: string;
  /** Rebuild even when a build is there. */
  force?: boolean;
  rebuild?: Rebuild;
  log?: (line: string) => void;
}

/** Builds (when missing or forced) better-sqlite3 for one Electron; returns where it is. */
export async function prepareElectronNative(o: PrepareOptions): Promise<{ file: string; built: boolean }> {
  const platform = o.platform ?? process.platform;
  const arch = o.arch ?? process.arch;
  const file = electronBindingFile(o.root, o.abi, platform, arch);
  if (fs.existsSync(file) && !o.force) return { file, built: false };
  const log = o.log ?? ((line: string) => console.log(line));
  const source = path.join(o.root, 'node_modules', PACKAGE);
  const manifest = path.join(source, 'package.json');
  if (!fs.existsSync(manifest)) throw new Error(`electron-native.ts: ${manifest} is missing; run npm install first`);
  const version = (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version: string }).version;

  const nativeDir = path.join(o.root, NATIVE_DIR);
  fs.mkdirSync(nativeDir, { recursive: true });
  const stage = fs.mkdtempSync(path.join(nativeDir, '.stage-'));
  try {
    // A one-package project: the rebuild sees only this copy (projectRootPath stops its search).
    fs.writeFileSync(
      path.join(stage, 'package.json'),
      JSON.stringify({ name: 'puma-native-stage', version: '0.0.0', private: true, dependencies: { [PACKAGE]: version } }),
    );
    const copy = path.join(stage, 'node_modules', PACKAGE);
    fs.cpSync(source, copy, { recursive: true, filter: (f) => path.relative(source, f).split(path.sep)[0] !== 'build' });
    log(`Building ${PACKAGE} ${version} for Electron ${o.electronVersion} (ABI ${o.abi}, ${platform}-${arch})…`);
    const rebuild = o.rebuild ?? (await loadRebuild());
    await rebuild({ buildPath: stage, projectRootPath: stage, electronVersion: o.electronVersion, arch, onlyModules: [PACKAGE], force: true });
    const built = path.join(copy, 'build', 'Release', BINDING_FILE);
    if (!fs.existsSync(built)) throw new Error(`electron-native.ts: @electron/rebuild finished but ${built} was not made`);
    // Renamed into place whole: a half-copied binary is never found by a starting app.
    const next = path.join(stage, 'out');
    fs.mkdirSync(next);
    fs.copyFileSync(built, path.join(next, BINDING_FILE));
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
    fs.renameSync(next, path.dirname(file));
    log(`${PACKAGE} for Electron: ${path.relative(o.root, file)}`);
    return { file, built: true };
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

async function loadRebuild(): Promise<Rebuild> {
  const { rebuild } = await import('@electron/rebuild');
  return async (options) => {
    // node-gyp takes npm's `nodedir` (set by some .npmrc files, passed down by npm run) over the
    // target: it would compile against Node's headers and make a binary Electron refuses.
    for (const key of Object.keys(process.env)) if (key.toLowerCase() === 'npm_config_nodedir') delete process.env[key];
    await rebuild(options);
  };
}

/** The installed Electron's version and ABI, asked of its binary (null: not installed here). */
export function installedElectron(root: string): { binary: string; version: string; abi: string } | null {
  const require = createRequire(path.join(root, 'package.json'));
  let binary: unknown;
  try {
    binary = require('electron'); // the binary's path, when it was downloaded
  } catch {
    return null;
  }
  if (typeof binary !== 'string' || !fs.existsSync(binary)) return null;
  const version = (require('electron/package.json') as { version: string }).version;
  // Run as plain Node: process.versions.modules is exactly the ABI the app will report.
  const abi = execFileSync(binary, ['-p', 'process.versions.modules'], { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, encoding: 'utf8' }).trim();
  if (!/^\d+$/.test(abi)) throw new Error(`electron-native.ts: Electron ${version} at ${binary} reported ABI '${abi}'`);
  return { binary, version, abi };
}

async function main(): Promise<void> {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const electron = installedElectron(root);
  if (!electron) {
    console.error(
      "Electron's binary is not installed here: nothing to build better-sqlite3 for. Run `npm install` where Electron can be downloaded (or `npm start`, which falls back to browser mode).",
    );
    process.exit(1);
  }
  await prepareElectronNative({ root, electronVersion: electron.version, abi: electron.abi, force: process.argv.includes('--force') });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    console.error(`Could not build better-sqlite3 for Electron: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
