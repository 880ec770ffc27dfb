/** Minimal NumPy `.npy` (format 1.0) reader/writer for little-endian float32 arrays. */
import { readFileSync, writeFileSync } from 'node:fs';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export function encodeNpyFloat32(data: Float32Array, shape: number[] = [data.length]): Uint8Array {
  const expected = shape.reduce((a, b) => a * b, 1);
  if (expected !== data.length) {
    throw new Error(`src-main/engine/margins/npy.ts: shape [${shape.join(', ')}] holds ${expected} values, data has ${data.length}`);
  }
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Magic (6) + version (2) + length (2) + header + '\n' is padded to a multiple of 64 bytes.
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out[8] = header.length & 0xff;
  out[9] = header.length >> 8;
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const body = new DataView(out.buffer, 10 + header.length);
  for (let i = 0; i < data.length; i++) body.setFloat32(i * 4, data[i]!, true);
  return out;
}

export function writeNpyFloat32(path: string, data: Float32Array, shape?: number[]): void {
  writeFileSync(path, encodeNpyFloat32(data, shape));
}

export function decodeNpyFloat32(bytes: Uint8Array, source = 'buffer'): { data: Float32Array; shape: number[] } {
  const fail = (why: string): never => {
    throw new Error(`src-main/engine/margins/npy.ts: ${source}: ${why}`);
  };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail('not a .npy file (bad magic)');
  const major = bytes[6]!;
  if (major < 1 || major > 3) fail(`.npy format version ${major} is not supported`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  if (headerStart + headerLength > bytes.length) fail('truncated: the header runs past the end of the file');
  const header = new TextDecoder('latin1').decode(bytes.subarray(headerStart, headerStart + headerLength));
  if (!/'descr':\s*'<f4'/.test(header)) fail(`only little-endian float32 ('<f4') is supported, header: ${header.trim()}`);
  if (/'fortran_order':\s*True/.test(header)) fail('Fortran-ordered arrays are not supported');
  const shapeMatch = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!shapeMatch) fail('header has no shape');
  const shape = shapeMatch![1]!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((d) => {
      // a negative or fractional dimension is no array (it would size a typed array wrongly)
      if (!/^\d+$/.test(d) || !Number.isSafeInteger(Number(d)))
        fail(`shape (${shapeMatch![1]!.trim()}) has dimension '${d}'; dimensions are whole numbers ≥ 0`);
      return Number(d);
    });
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLength;
  if (bytes.length - dataStart < count * 4) fail(`truncated: expected ${count} float32 values`);
  const data = new Float32Array(count);
  const body = new DataView(bytes.buffer, bytes.byteOffset + dataStart, count * 4);
  for (let i = 0; i < count; i++) data[i] = body.getFloat32(i * 4, true);
  return { data, shape };
}

export function readNpyFloat32(path: string): { data: Float32Array; shape: number[] } {
  return decodeNpyFloat32(readFileSync(path), path);
}
