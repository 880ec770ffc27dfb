/**
 * `npm run dist [-- electron-builder args, e.g. --linux --dir]`: installers in dist/ (AppImage
 * and .deb on Linux, dmg on macOS, nsis on Windows; electron-builder.ts). Checks first that
 * Electron's binary is installed — electron-builder would otherwise try to download it and fail
 * with a network error far into the build — then builds the app, prepares better-sqlite3 for
 * Electron's ABI (native/), and packages.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { installedElectron, prepareElectronNative } from './electron-native';

/** Why packaging cannot start here (null: it can). */
export function distBlocker(electron: ReturnType<typeof installedElectron>): string | null {
  if (electron) return null;
  return [
    "npm run dist: Electron's binary is not installed here (npm drops the optional electron package, or leaves it without its binary, when the download fails, e.g. offline).",
    'Packaging needs it. On a machine that can reach github.com, run `npm install` (it downloads Electron), then `npm run dist` again.',
  ].join('\n');
}

function run(command: string, args: string[], root: string): void {
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) {
    console.error(`npm run dist: \`${command} ${args.join(' ')}\` failed (exit ${r.status ?? r.signal}).`);
    process.exit(r.status || 1);
  }
}

async function main(): Promise<void> {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const electron = installedElectron(root);
  const blocker = distBlocker(electron);
  if (blocker || !electron) {
    console.error(blocker);
    process.exit(1);
  }
  const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
  run(npx, ['electron-vite', 'build'], root);
  await prepareElectronNative({ root, electronVersion: electron.version, abi: electron.abi });
  run(npx, ['electron-builder', '--config', 'electron-builder.ts', '--publish', 'never', ...process.argv.slice(2)], root);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    console.error(`npm run dist: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
