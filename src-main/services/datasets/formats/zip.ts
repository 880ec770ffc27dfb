import fs from 'node:fs';
import { LIMITS } from '../../limits';

/** One member of a zip archive, located through the central directory. */
export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate. */
  method: number;
  compressedSize: number;
  uncompressedSize: number;
  /** Offset of the member's data (after its local header). */
  dataOffset: number;
}

function readAt(fd: number, pos: number, n: number): Buffer {
  const buf = Buffer.alloc(n);
  let got = 0;
  while (got < n) {
    const r = fs.readSync(fd, buf, got, n - got, pos + got);
    if (r === 0) break;
    got += r;
  }
  return buf.subarray(0, got);
}

/**
 * Lists a zip's members from its central directory (zip64 included, as numpy writes with
 * force_zip64), without reading the members: large ones are then read by offset.
 */
export function readZipDirectory(file: string): ZipEntry[] {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const tailLen = Math.min(size, 22 + 65535);
    const tail = readAt(fd, size - tailLen, tailLen);
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === 0x06054b50) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw new Error(`${file}: not a zip/.npz archive (no end-of-central-directory record; truncated?)`);
    let count = tail.readUInt16LE(eocd + 10);
    let cdSize = tail.readUInt32LE(eocd + 12);
    let cdOffset = tail.readUInt32LE(eocd + 16);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const locPos = size - tailLen + eocd - 20;
      const loc = readAt(fd, locPos, 20);
      if (loc.length < 20 || loc.readUInt32LE(0) !== 0x07064b50) throw new Error(`${file}: zip64 locator missing`);
      const e64 = readAt(fd, Number(loc.readBigUInt64LE(8)), 56);
      if (e64.length < 56 || e64.readUInt32LE(0) !== 0x06064b50) throw new Error(`${file}: zip64 end record missing`);
      count = Number(e64.readBigUInt64LE(32));
      cdSize = Number(e64.readBigUInt64LE(40));
      cdOffset = Number(e64.readBigUInt64LE(48));
    }
    // the directory is read whole: numpy's hold a few entries
    if (cdSize > 64 * 1024 * 1024) throw new Error(`${file}: zip central directory of ${cdSize} bytes; refused`);
    if (cdOffset + cdSize > size) throw new Error(`${file}: central directory lies past the end of the file (truncated?)`);
    const cd = readAt(fd, cdOffset, cdSize);
    const entries: ZipEntry[] = [];
    let p = 0;
    if (count > LIMITS.maxArchiveEntries) throw new Error(`${file}: ${count} zip members, more than ${LIMITS.maxArchiveEntries}; refused`);
    for (let k = 0; k < count; k++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== 0x02014b50) throw new Error(`${file}: corrupt zip central directory`);
      const method = cd.readUInt16LE(p + 10);
      let compressedSize = cd.readUInt32LE(p + 20);
      let uncompressedSize = cd.readUInt32LE(p + 24);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      let localOffset = cd.readUInt32LE(p + 42);
      const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
      // zip64 extra field: present values replace the 0xFFFFFFFF placeholders, in this order
      let e = p + 46 + nameLen;
      const extraEnd = e + extraLen;
      while (e + 4 <= extraEnd) {
        const id = cd.readUInt16LE(e);
        const len = cd.readUInt16LE(e + 2);
        if (id === 0x0001) {
          let q = e + 4;
          if (uncompressedSize === 0xffffffff) ((uncompressedSize = Number(cd.readBigUInt64LE(q))), (q += 8));
          if (compressedSize === 0xffffffff) ((compressedSize = Number(cd.readBigUInt64LE(q))), (q += 8));
          if (localOffset === 0xffffffff) localOffset = Number(cd.readBigUInt64LE(q));
        }
        e += 4 + len;
      }
      const local = readAt(fd, localOffset, 30);
      if (local.length < 30 || local.readUInt32LE(0) !== 0x04034b50) throw new Error(`${file}: corrupt local header of member ${name}`);
      const dataOffset = localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
      if (dataOffset + compressedSize > size) throw new Error(`${file}: member ${name} extends past the end of the file (truncated?)`);
      entries.push({ name, method, compressedSize, uncompressedSize, dataOffset });
      p = extraEnd + commentLen;
    }
    return entries;
  } finally {
    fs.closeSync(fd);
  }
}
