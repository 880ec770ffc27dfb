#!/usr/bin/env node
// `npm start`: the Electron window where Electron's binary is installed; otherwise (offline
// machines where the binary could not be downloaded) the same UI in browser mode.
import { spawnSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

function electronBinary() {
  if (process.env.PUMA_BROWSER_MODE === '1') return null;
  try {
    const bin = require('electron'); // the path of the binary, if it was downloaded
    return typeof bin === 'string' && existsSync(bin) ? bin : null;
  } catch {
    return null;
  }
}

const extra = process.argv.slice(2);
if (electronBinary()) {
  // better-sqlite3 for Electron's ABI, beside the Node build (built once; kept in native/).
  const prepared = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'scripts', 'electron-native.ts')], { cwd: root, stdio: 'inherit' });
  if (prepared.status !== 0) process.exit(prepared.status || 1);
  console.log('Starting PUMA Lab (Electron)…');
  const r = spawnSync(npx, ['electron-vite', 'preview', ...extra], { cwd: root, stdio: 'inherit' });
  process.exit(r.status ?? 1);
} else {
  console.log("Electron's binary is not installed here: starting PUMA Lab in browser mode.");
  const build = spawnSync(npx, ['vite', 'build', '--config', 'vite.renderer.config.ts', '--logLevel', 'warn'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (build.status !== 0) process.exit(build.status ?? 1);
  const child = spawn(process.execPath, [path.join(root, 'bin', 'puma.mjs'), 'serve', ...extra], { cwd: root, stdio: 'inherit' });
  const stop = () => child.kill('SIGTERM');
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  child.on('exit', (code) => process.exit(code ?? 0));
}
