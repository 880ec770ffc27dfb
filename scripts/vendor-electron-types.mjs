#!/usr/bin/env node
// Copies the pinned Electron's type definitions into types/electron/electron.d.ts.
//
// Why vendored: `electron` is an optional dependency, and npm drops it whole (types included)
// when its binary cannot be downloaded (offline machines). The typecheck of src-main/app must
// not depend on that download, so the pinned version's electron.d.ts lives in the repo; a unit
// test keeps it identical to the installed package whenever that is present.
// Run after changing the electron version in package.json: `node scripts/vendor-electron-types.mjs`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const version = pkg.optionalDependencies?.electron;
if (!version) throw new Error('package.json: no optionalDependencies.electron to vendor types for.');

const work = mkdtempSync(path.join(tmpdir(), 'electron-types-'));
try {
  // npm pack fetches the package tarball only: no install script, no binary download.
  const file = execFileSync('npm', ['pack', `electron@${version}`, '--silent'], { cwd: work, encoding: 'utf8' })
    .trim()
    .split('\n')
    .pop();
  execFileSync('tar', ['xzf', file, 'package/electron.d.ts'], { cwd: work });
  const target = path.join(root, 'types', 'electron', 'electron.d.ts');
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, readFileSync(path.join(work, 'package', 'electron.d.ts')));
  console.log(`types/electron/electron.d.ts: Electron ${version}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
