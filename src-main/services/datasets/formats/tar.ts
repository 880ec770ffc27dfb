import fs from 'node:fs';
import path from 'node:path';
import { checkDimension, LIMITS, type ExpansionBudget } from '../../limits';
import { resolveInside } from '../../path-policy';
import { ByteSource } from '../bytes';

const BLOCK = 512;
const YIELD_BYTES = 16 * 1024 * 1024;

function octal(h: Uint8Array, off: number, len: number): number {
  // GNU base-256 for sizes ≥ 8 GiB
  if (h[off] & 0x80) {
    let v = 0;
    for (let i = off + 1; i < off + len; i++) v = v * 256 + h[i];
    return v;
  }
  const s = Buffer.from(h.subarray(off, off + len))
    .toString('latin1')
    .replace(/\0.*$/s, '')
    .trim();
  return s ? parseInt(s, 8) : 0;
}

function cstr(h: Uint8Array, off: number, len: number): string {
  const b = Buffer.from(h.subarray(off, off + len));
  const z = b.indexOf(0);
  return b.toString('utf8', 0, z < 0 ? len : z);
}

/**
 * Extracts the regular files of a .tar / .tar.gz / .tgz into `dest`, streaming (the archive is
 * never held in memory). Entry names that would escape `dest` are refused.
 */
export async function extractTar(file: string, dest: string, budget: ExpansionBudget, progress: (fraction: number) => Promise<void>): Promise<void> {
  const src = /\.(t?gz)$/i.test(file) ? ByteSource.gunzip(file, budget) : ByteSource.raw(file);
  const total = src.totalInput;
  let longName: string | null = null;
  let files = 0;
  let entries = 0;
  try {
    for (;;) {
      // millions of empty members would exhaust the disk's inodes long before the byte budget
      if (++entries > LIMITS.maxArchiveEntries) throw new Error(`${file}: more than ${LIMITS.maxArchiveEntries} archive entries; refused`);
      const h = src.tryRead(BLOCK);
      if (!h) throw new Error(`${file}: truncated tar archive`);
      if (h.every((b) => b === 0)) break;
      const magic = cstr(h, 257, 6);
      let name = cstr(h, 0, 100);
      if (magic.startsWith('ustar')) {
        const prefix = cstr(h, 345, 155);
        if (prefix) name = `${prefix}/${name}`;
      } else if (!/^[\x20-\x7e]/.test(name)) {
        throw new Error(`${file}: not a tar archive`);
      }
      if (longName !== null) {
        name = longName;
        longName = null;
      }
      const size = checkDimension(octal(h, 124, 12), file, `the size of entry ${JSON.stringify(name.slice(0, 100))}`);
      const type = String.fromCharCode(h[156] || 0x30);
      const padded = Math.ceil(size / BLOCK) * BLOCK;
      if (type === 'L' || type === 'x') {
        // read whole: a header record claiming gigabytes is hostile
        if (size > LIMITS.maxTarHeaderRecordBytes) throw new Error(`${file}: a ${size}-byte tar header record (long name / pax); refused`);
        const data = Buffer.from(src.read(padded, `the header of ${name}`)).toString('utf8', 0, size);
        if (type === 'L') longName = data.replace(/\0.*$/s, '');
        else {
          const m = /\d+ path=([^\n]*)\n/.exec(data);
          if (m) longName = m[1];
        }
        continue;
      }
      if (type !== '0' || name.endsWith('/')) {
        src.read(padded, `entry ${name}`);
        continue;
      }
      // an absolute or '../' member name would write outside the folder it is unpacked in
      const out = resolveInside(dest, name, file, 'the archive');
      fs.mkdirSync(path.dirname(out), { recursive: true });
      const fd = fs.openSync(out, 'w');
      try {
        let left = size;
        let sinceYield = 0;
        while (left > 0) {
          const chunk = src.readUpTo(left);
          if (!chunk.length) throw new Error(`${file}: truncated tar archive (inside ${name})`);
          fs.writeSync(fd, chunk);
          left -= chunk.length;
          // a big member must not hold the event loop (the server answers between chunks)
          if ((sinceYield += chunk.length) >= YIELD_BYTES) {
            sinceYield = 0;
            await progress(src.consumed / total);
          }
        }
      } finally {
        fs.closeSync(fd);
      }
      if (padded > size) src.read(padded - size, `padding of ${name}`);
      files++;
      await progress(src.consumed / total);
    }
  } finally {
    src.close();
  }
  if (!files) throw new Error(`${file}: the archive holds no files`);
}
