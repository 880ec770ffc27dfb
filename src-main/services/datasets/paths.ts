import fs from 'node:fs';
import path from 'node:path';

/**
 * Guards the transports: a path from a request must lie inside one of the roots the user chose
 * (a file dialog's answer, the CLI's argument, the app's data folder). Symlinks are resolved so
 * a link inside a root cannot point outside it. Returns the resolved real path.
 */
export function assertUserChosenPath(p: string, allowedRoots: readonly string[]): string {
  if (typeof p !== 'string' || !p || p.includes('\0')) throw new Error(`Refused path ${JSON.stringify(p)}: not a valid path`);
  let real: string;
  try {
    real = fs.realpathSync(path.resolve(p));
  } catch {
    throw new Error(`${p}: no such file or folder`);
  }
  for (const root of allowedRoots) {
    let r: string;
    try {
      r = fs.realpathSync(path.resolve(root));
    } catch {
      continue;
    }
    const rel = path.relative(r, real);
    if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) return real;
  }
  throw new Error(`${p}: refused: the path is outside the folders you chose (${allowedRoots.join(', ') || 'none'})`);
}
