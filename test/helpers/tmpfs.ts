import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A small tmpfs of `size` (e.g. '4m') for real full-disk and read-only-folder tests. Needs root
 * and mount(8); returns null elsewhere, so those tests skip with a reason.
 */
export function mountTmpfs(size: string): { dir: string; readOnly: () => void; unmount: () => void } | null {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'puma-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    fs.rmdirSync(dir);
    return null;
  }
  return {
    dir,
    readOnly: () => execFileSync('mount', ['-o', 'remount,ro', dir], { stdio: 'ignore' }),
    unmount: () => {
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
      fs.rmdirSync(dir);
    },
  };
}

/** True where mountTmpfs works (checked once by mounting and unmounting a tiny one). */
export const canMountTmpfs: boolean = (() => {
  const m = mountTmpfs('64k');
  m?.unmount();
  return m !== null;
})();
