/**
 * Which better-sqlite3 binary a process loads. Node (the CLI, `puma serve`, tests) uses the
 * package's own build in node_modules/better-sqlite3/build. Electron has another ABI, so every
 * Electron process that opens the log (main, utility-process jobs, the workers they fork, which
 * run as Electron-as-Node) loads a second build kept beside it in native/ — prepared by
 * `npm start` (scripts/electron-native.ts) and never written over the Node build.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder of prepared native builds, relative to the project (or app.asar) root. */
export const NATIVE_DIR = 'native';
export const BINDING_FILE = 'better_sqlite3.node';

/** native/electron-<abi>-<platform>-<arch>/better_sqlite3.node: one build per ABI, system and CPU. */
export function electronBindingFile(root: string, abi: string, platform: string = process.platform, arch: string = process.arch): string {
  return path.join(root, NATIVE_DIR, `electron-${abi}-${platform}-${arch}`, BINDING_FILE);
}

/**
 * The project root: this module is src-main/store/native-binding.ts in the sources and is bundled
 * into out/main/*.js in a build; both sit two folders below the root (app.asar when packaged).
 */
export function defaultRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
}

/** A file packed in app.asar but unpacked (asarUnpack): native code cannot be loaded from inside the archive. */
export function unpackedPath(file: string): string {
  return file.replace(/([\\/])app\.asar([\\/])/, '$1app.asar.unpacked$2');
}

export interface BindingOptions {
  versions?: Partial<Pick<NodeJS.ProcessVersions, 'electron' | 'modules'>>;
  root?: string;
  platform?: string;
  arch?: string;
  exists?: (file: string) => boolean;
}

/**
 * The `nativeBinding` option for better-sqlite3: undefined under Node (its default build), the
 * Electron build's path under Electron. A missing Electron build is an error that says how to
 * make it, rather than Electron's "compiled against a different Node.js version".
 */
export function nativeBindingPath(options: BindingOptions = {}): string | undefined {
  const versions = options.versions ?? process.versions;
  if (!versions.electron) return undefined;
  if (!versions.modules) throw new Error(`native-binding.ts: Electron ${versions.electron} reports no ABI version (process.versions.modules)`);
  const file = unpackedPath(electronBindingFile(options.root ?? defaultRoot(), versions.modules, options.platform, options.arch));
  const exists = options.exists ?? fs.existsSync;
  if (!exists(file)) {
    throw new Error(
      `better-sqlite3 has no build for Electron ${versions.electron} (ABI ${versions.modules}): ${file} is missing. ` +
        'Run `npm start` (it prepares one when missing) or `npm run rebuild:electron`.',
    );
  }
  return file;
}
