/**
 * Writers of the on-disk formats, byte for byte from their specifications, used to produce
 * test inputs independently of the importer's readers.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { deflateSync, gzipSync } from 'fflate';

/** Deterministic pseudo-random bytes (LCG) so expected contents are reproducible. */
export function pseudoBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

/** A CIFAR binary batch from HWC images: [coarse] label, then R plane, G plane, B plane. */
export function cifarBatch(imagesHwc: Uint8Array, labels: number[], coarse?: number[]): Uint8Array {
  const labelBytes = coarse ? 2 : 1;
  const rec = labelBytes + 3072;
  const out = new Uint8Array(labels.length * rec);
  for (let i = 0; i < labels.length; i++) {
    const o = i * rec;
    if (coarse) out[o] = coarse[i];
    out[o + labelBytes - 1] = labels[i];
    for (let p = 0; p < 1024; p++) {
      for (let c = 0; c < 3; c++) out[o + labelBytes + c * 1024 + p] = imagesHwc[i * 3072 + 3 * p + c];
    }
  }
  return out;
}

/** An IDX file: 0x00 0x00 0x08 ndim, big-endian uint32 dims, uint8 data. */
export function idxFile(dims: number[], data: Uint8Array, magic?: number): Uint8Array {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic ?? 0x00000800 + dims.length, 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, data]);
}

/** A .npy v1.0 file: magic, header dict padded with spaces to a multiple of 64, data. */
export function npyFile(descr: string, shape: number[], data: Uint8Array): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + dict.length + 1;
  dict += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head[0] = 0x93;
  head.write('NUMPY', 1, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(dict.length, 8);
  return Buffer.concat([head, Buffer.from(dict, 'latin1'), data]);
}

export function int64Labels(labels: number[]): Uint8Array {
  const b = Buffer.alloc(labels.length * 8);
  labels.forEach((l, i) => b.writeBigInt64LE(BigInt(l), i * 8));
  return b;
}

function crc32(data: Uint8Array): number {
  let c = ~0;
  for (let i = 0; i < data.length; i++) {
    c ^= data[i];
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/**
 * A zip archive like `np.savez` (ZIP_STORED) or `np.savez_compressed` (deflate) writes; with
 * `zip64` every size/offset goes through zip64 extra fields and a zip64 end record. A member given
 * as `{ deflated, size }` is written as it is, declaring `size` (forged sizes, bombs).
 */
export function zipFile(
  members: Record<string, Uint8Array | { deflated: Uint8Array; size: number }>,
  opts: { deflate?: boolean; zip64?: boolean } = {},
): Uint8Array {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, member] of Object.entries(members)) {
    // a member given already deflated (with the size it declares) is written as it is
    const given = member instanceof Uint8Array ? null : member;
    const raw = given ? { length: given.size } : (member as Uint8Array);
    const deflated = !!given || !!opts.deflate;
    const data = given ? given.deflated : opts.deflate ? deflateSync(member as Uint8Array) : (member as Uint8Array);
    const nameBuf = Buffer.from(name, 'utf8');
    const crc = given ? 0 : crc32(member as Uint8Array);
    const z64 = !!opts.zip64;
    const localExtra = z64 ? Buffer.alloc(20) : Buffer.alloc(0);
    if (z64) {
      localExtra.writeUInt16LE(1, 0);
      localExtra.writeUInt16LE(16, 2);
      localExtra.writeBigUInt64LE(BigInt(raw.length), 4);
      localExtra.writeBigUInt64LE(BigInt(data.length), 12);
    }
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(z64 ? 45 : 20, 4);
    local.writeUInt16LE(deflated ? 8 : 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(z64 ? 0xffffffff : data.length, 18);
    local.writeUInt32LE(z64 ? 0xffffffff : raw.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    local.writeUInt16LE(localExtra.length, 28);
    parts.push(local, nameBuf, localExtra, Buffer.from(data));
    const cExtra = z64 ? Buffer.alloc(28) : Buffer.alloc(0);
    if (z64) {
      cExtra.writeUInt16LE(1, 0);
      cExtra.writeUInt16LE(24, 2);
      cExtra.writeBigUInt64LE(BigInt(raw.length), 4);
      cExtra.writeBigUInt64LE(BigInt(data.length), 12);
      cExtra.writeBigUInt64LE(BigInt(offset), 20);
    }
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(45, 4);
    c.writeUInt16LE(z64 ? 45 : 20, 6);
    c.writeUInt16LE(deflated ? 8 : 0, 10);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(z64 ? 0xffffffff : data.length, 20);
    c.writeUInt32LE(z64 ? 0xffffffff : raw.length, 24);
    c.writeUInt16LE(nameBuf.length, 28);
    c.writeUInt16LE(cExtra.length, 30);
    c.writeUInt32LE(z64 ? 0xffffffff : offset, 42);
    central.push(c, nameBuf, cExtra);
    offset += local.length + nameBuf.length + localExtra.length + data.length;
  }
  const cd = Buffer.concat(central);
  const count = Object.keys(members).length;
  const tail: Buffer[] = [];
  if (opts.zip64) {
    const e64 = Buffer.alloc(56);
    e64.writeUInt32LE(0x06064b50, 0);
    e64.writeBigUInt64LE(44n, 4);
    e64.writeUInt16LE(45, 12);
    e64.writeUInt16LE(45, 14);
    e64.writeBigUInt64LE(BigInt(count), 24);
    e64.writeBigUInt64LE(BigInt(count), 32);
    e64.writeBigUInt64LE(BigInt(cd.length), 40);
    e64.writeBigUInt64LE(BigInt(offset), 48);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    loc.writeBigUInt64LE(BigInt(offset + cd.length), 8);
    loc.writeUInt32LE(1, 16);
    tail.push(e64, loc);
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(opts.zip64 ? 0xffff : count, 8);
  eocd.writeUInt16LE(opts.zip64 ? 0xffff : count, 10);
  eocd.writeUInt32LE(opts.zip64 ? 0xffffffff : cd.length, 12);
  eocd.writeUInt32LE(opts.zip64 ? 0xffffffff : offset, 16);
  return Buffer.concat([...parts, cd, ...tail, eocd]);
}

/** The ustar header block of one regular file of `size` bytes (its data not included). */
export function tarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(size.toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h[156] = 0x30;
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

/** A ustar tar archive of regular files. */
export function tarFile(files: Record<string, Uint8Array>): Uint8Array {
  const blocks: Buffer[] = [];
  for (const [name, data] of Object.entries(files)) {
    blocks.push(tarHeader(name, data.length), Buffer.from(data), Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/**
 * A gzip stream of `prefix` then `chunk` repeated `times`, built from one deflated copy of the
 * chunk (sync-flushed blocks concatenate), so gigabytes cost megabytes to build and to hold.
 * The trailer's CRC is not computed: a reader must refuse the stream long before reaching it.
 */
export function repeatedGzip(chunk: Uint8Array, times: number, prefix: Uint8Array = new Uint8Array(0)): Buffer {
  const flush = { finishFlush: zlib.constants.Z_SYNC_FLUSH, level: 9 };
  const block = zlib.deflateRawSync(chunk, flush);
  const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
  const final = Buffer.from([0x03, 0x00]); // an empty final block
  return Buffer.concat([header, zlib.deflateRawSync(prefix, flush), ...Array<Buffer>(times).fill(block), final, Buffer.alloc(8)]);
}

/** `prefix` then `zeroMiB` MiB of zeros, gzipped (~1 KB per MiB). */
export function zeroGzip(zeroMiB: number, prefix: Uint8Array = new Uint8Array(0)): Buffer {
  return repeatedGzip(new Uint8Array(1024 * 1024), zeroMiB, prefix);
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

/**
 * An 8-bit RGB PNG of `rgb` (H×W×3), filter 0 on every row, optionally Adam7-interlaced. `idat`
 * replaces the compressed data (for forged files whose header and data disagree).
 */
export function pngFile(width: number, height: number, rgb: Uint8Array | null, opts: { interlace?: boolean; idat?: Uint8Array } = {}): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  ihdr[12] = opts.interlace ? 1 : 0;
  let idat = opts.idat;
  if (!idat) {
    const rows = new Uint8Array(height * (1 + 3 * width) + 8 * height); // room for Adam7's extra filter bytes
    let n = 0;
    const passes = opts.interlace ? ADAM7 : [[0, 0, 1, 1]];
    for (const [x0, y0, dx, dy] of passes) {
      for (let y = y0; y < height; y += dy) {
        if (x0 >= width) continue;
        rows[n++] = 0;
        for (let x = x0; x < width; x += dx) for (let c = 0; c < 3; c++) rows[n++] = rgb![(y * width + x) * 3 + c];
      }
    }
    idat = zlib.deflateSync(rows.subarray(0, n));
  }
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', new Uint8Array(0))]);
}

export function gz(data: Uint8Array): Uint8Array {
  return gzipSync(data);
}

export function write(dir: string, name: string, data: Uint8Array): string {
  const p = path.join(dir, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, data);
  return p;
}
