/**
 * PyTorch checkpoints → a flat state_dict of float32 tensors: `.pt`/`.pth` files in the zip
 * format of torch ≥ 1.6 (data.pkl + one member per storage, read by offset, not whole) and
 * `.safetensors`. Unwraps the usual containers, strips DataParallel's `module.` and a wrapping
 * Sequential's index, converts f16/bf16 (with a note) and refuses other dtypes, non-finite
 * values and running_var ≤ 0, each with the file and the tensor named.
 */
import fs from 'node:fs';
import path from 'node:path';
import { inflateSync } from 'fflate';
import { readZipDirectory, type ZipEntry } from '../../datasets/formats/zip';
import { checkExpansionRatio, formatBytes, LIMITS, parseJsonText } from '../../limits';
import { unpickle, type PyDict, type PyValue, type TensorRef, type TorchDtype } from './unpickle';

/** A tensor read into float32 (PyTorch layout: row-major over `shape`). */
export interface Tensor {
  shape: number[];
  data: Float32Array;
}

export interface Checkpoint {
  /** Shapes by key, as the model class names them (wrappers stripped); dtypes already checked. */
  shapes: Map<string, number[]>;
  /**
   * Reads one tensor as float32, checked (finite; running_var > 0). Not kept: each is read when
   * its layer is laid out, so a large checkpoint is never held whole next to its copy.
   */
  read(key: string): Tensor | undefined;
  /** Closes the file (the caller, once every tensor it needs is read). */
  close(): void;
  /** What was done to read it (unwrapping, prefixes, dtype conversion), for the model's provenance. */
  notes: string[];
  /** mean/std buffers of a normalisation layer wrapped in front of the model, if the file had one. */
  normalization?: { mean: number[]; std: number[] };
}

const ITEM_BYTES: Record<TorchDtype, number> = { float32: 4, float16: 2, bfloat16: 2, float64: 8, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1 };
const SAFETENSORS_DTYPES: Record<string, TorchDtype> = {
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  F64: 'float64',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
};
/** data.pkl is read whole; a state_dict's is a few hundred KB even for large models. */
const MAX_PICKLE_BYTES = 64 * 1024 ** 2;
/** safetensors' own limit on its JSON header. */
const MAX_SAFETENSORS_HEADER = 100 * 1024 ** 2;

/** A tensor not read yet: its dtype, shape, and how to get its elements (in row-major order). */
interface Pending {
  dtype: TorchDtype;
  shape: number[];
  read(): Uint8Array;
}

function fail(file: string, why: string): never {
  throw new Error(`${file}: ${why}`);
}

function readAt(fd: number, pos: number, n: number): Uint8Array {
  const buf = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const r = fs.readSync(fd, buf, got, n - got, pos + got);
    if (r === 0) break;
    got += r;
  }
  return got === n ? buf : buf.subarray(0, got);
}

const numelOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Reads the checkpoint named by `file` (.pt, .pth or .safetensors). */
export function readCheckpoint(file: string): Checkpoint {
  const fd = fs.openSync(file, 'r');
  const close = () => fs.closeSync(fd);
  try {
    const size = fs.fstatSync(fd).size;
    const head = readAt(fd, 0, Math.min(8, size));
    const isZip = head[0] === 0x50 && head[1] === 0x4b;
    if (path.extname(file).toLowerCase() === '.safetensors' && !isZip) return finish(file, readSafetensors(file, fd, size), close);
    if (head[0] === 0x80) {
      fail(
        file,
        'a PyTorch file in the legacy format of torch < 1.6 (a bare pickle, not a zip): refused; load it in PyTorch and save it again with torch.save(model.state_dict(), "model.pt")',
      );
    }
    if (!isZip) fail(file, 'neither a PyTorch zip checkpoint (.pt/.pth of torch ≥ 1.6) nor a .safetensors file');
    return finish(file, readTorchZip(file, fd, size), close);
  } catch (e) {
    close();
    throw e;
  }
}

function readTorchZip(file: string, fd: number, _size: number): { root: PyValue; pending: (t: TensorRef) => Pending } {
  let entries: ZipEntry[];
  try {
    entries = readZipDirectory(file);
  } catch (e) {
    throw new Error(`${(e as Error).message} (reading it as a PyTorch checkpoint)`, { cause: e });
  }
  const pkl = entries.filter((e) => /^[^/]+\/data\.pkl$/.test(e.name));
  if (entries.some((e) => /^[^/]+\/(constants\.pkl|code\/)/.test(e.name))) {
    fail(
      file,
      'a TorchScript archive (it holds constants.pkl and a code/ folder): refused, TorchScript runs code; save the weights with torch.save(model.state_dict(), "model.pt")',
    );
  }
  if (pkl.length !== 1) fail(file, `a zip without exactly one <name>/data.pkl (found ${pkl.length}): not a torch.save checkpoint`);
  const prefix = pkl[0]!.name.slice(0, -'data.pkl'.length);
  const byName = new Map(entries.map((e) => [e.name, e]));
  const order = byName.get(`${prefix}byteorder`);
  if (order && Buffer.from(member(file, fd, order, 16)).toString('latin1') !== 'little')
    fail(file, 'tensors stored big-endian: only little-endian checkpoints are read');
  if (pkl[0]!.uncompressedSize > MAX_PICKLE_BYTES)
    fail(file, `data.pkl of ${formatBytes(pkl[0]!.uncompressedSize)}, past ${formatBytes(MAX_PICKLE_BYTES)}: not a state_dict`);
  const declared = entries.reduce((s, e) => s + e.uncompressedSize, 0);
  if (declared > LIMITS.maxModelWeightBytes)
    fail(file, `its members declare ${formatBytes(declared)}, past the limit of ${formatBytes(LIMITS.maxModelWeightBytes)} for one model`);
  // tensors are read later, one at a time: a bomb among them is refused now, before any is
  for (const e of entries) if (e.method === 8) checkExpansionRatio(`${file} (member ${e.name})`, e.uncompressedSize, e.compressedSize);
  const root = unpickle(member(file, fd, pkl[0]!, MAX_PICKLE_BYTES), `${file} (data.pkl)`);
  return {
    root,
    pending: (t) => {
      const entry = byName.get(`${prefix}data/${t.storage.key}`);
      if (!entry) fail(file, `storage ${t.storage.key} named in data.pkl is missing from the archive`);
      const item = ITEM_BYTES[t.storage.dtype];
      if (entry.uncompressedSize < t.storage.numel * item)
        fail(file, `storage ${t.storage.key} holds ${entry.uncompressedSize} bytes, data.pkl says ${t.storage.numel} elements of ${item} bytes`);
      return {
        dtype: t.storage.dtype,
        shape: t.shape,
        read: () => gather(file, t, item, member(file, fd, entry, LIMITS.maxModelWeightBytes)),
      };
    },
  };
}

/** A zip member's bytes: stored ones read by offset, deflated ones inflated into a buffer of the declared size. */
function member(file: string, fd: number, e: ZipEntry, max: number): Uint8Array {
  if (e.uncompressedSize > max) fail(file, `member ${e.name} of ${formatBytes(e.uncompressedSize)} is past ${formatBytes(max)}`);
  if (e.method === 0) return readAt(fd, e.dataOffset, e.uncompressedSize);
  if (e.method !== 8) fail(file, `member ${e.name} uses zip compression method ${e.method}; stored or deflate expected`);
  // the output buffer is the declared size: a member inflating past it is corrupt, not a bomb that grows;
  // a declared size far past what its compressed bytes could honestly hold is a bomb (torch.save stores)
  checkExpansionRatio(`${file} (member ${e.name})`, e.uncompressedSize, e.compressedSize);
  const out = new Uint8Array(e.uncompressedSize);
  let got: Uint8Array;
  try {
    got = inflateSync(readAt(fd, e.dataOffset, e.compressedSize), { out });
  } catch (err) {
    return fail(file, `member ${e.name} does not inflate: ${(err as Error).message}`);
  }
  if (got.length !== e.uncompressedSize) fail(file, `member ${e.name} inflates to ${got.length} bytes, its header declares ${e.uncompressedSize}`);
  return got;
}

/** A tensor's elements in row-major order, following its offset and strides within the storage bytes. */
function gather(file: string, t: TensorRef, item: number, storage: Uint8Array): Uint8Array {
  const n = numelOf(t.shape);
  const out = new Uint8Array(n * item);
  if (n === 0) return out;
  // the last element must lie inside the storage
  const last = t.offset + t.shape.reduce((s, d, i) => s + (d - 1) * t.stride[i]!, 0);
  if (last >= t.storage.numel || (last + 1) * item > storage.length)
    fail(file, `a tensor of size (${t.shape.join(', ')}) reaches past the end of storage ${t.storage.key}`);
  const contiguous = t.shape.every((_, i) => t.shape[i] === 1 || t.stride[i] === t.shape.slice(i + 1).reduce((a, b) => a * b, 1));
  if (contiguous) {
    out.set(storage.subarray(t.offset * item, (t.offset + n) * item));
    return out;
  }
  const idx = new Array<number>(t.shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    let src = t.offset;
    for (let d = 0; d < idx.length; d++) src += idx[d]! * t.stride[d]!;
    out.set(storage.subarray(src * item, (src + 1) * item), k * item);
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d]! < t.shape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

function readSafetensors(file: string, fd: number, size: number): { root: PyValue; pending: (t: TensorRef) => Pending } {
  if (size < 8) fail(file, 'too short for a .safetensors file');
  const n = Number(Buffer.from(readAt(fd, 0, 8)).readBigUInt64LE(0));
  if (n > MAX_SAFETENSORS_HEADER || 8 + n > size) fail(file, `.safetensors header of ${n} bytes does not fit in the file of ${size} bytes`);
  const header = parseJsonText(Buffer.from(readAt(fd, 8, n)).toString('utf8'), `${file} (.safetensors header)`);
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail(file, '.safetensors header is not a JSON object');
  const dataStart = 8 + n;
  const root: PyDict = new Map();
  const specs = new Map<string, { dtype: TorchDtype; shape: number[]; begin: number; end: number }>();
  for (const [name, spec] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const s = spec as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = SAFETENSORS_DTYPES[String(s?.dtype)];
    if (!dtype) fail(file, `tensor '${name.slice(0, 200)}' has dtype ${String(s?.dtype).slice(0, 20)}, which PyTorch state_dicts do not hold`);
    const shape =
      Array.isArray(s.shape) && s.shape.every((d) => Number.isSafeInteger(d) && d >= 0)
        ? (s.shape as number[])
        : fail(file, `tensor '${name}' has no valid shape`);
    const off =
      Array.isArray(s.data_offsets) && s.data_offsets.length === 2 && s.data_offsets.every((d) => Number.isSafeInteger(d) && d >= 0)
        ? (s.data_offsets as number[])
        : fail(file, `tensor '${name}' has no valid data_offsets`);
    if (off[1]! - off[0]! !== numelOf(shape) * ITEM_BYTES[dtype] || dataStart + off[1]! > size) {
      fail(
        file,
        `tensor '${name}' of shape [${shape.join(', ')}] ${dtype} has data_offsets [${off.join(', ')}] that do not match its size or lie past the end of the file`,
      );
    }
    specs.set(name, { dtype, shape, begin: dataStart + off[0]!, end: dataStart + off[1]! });
    root.set(name, { kind: 'tensor', storage: { kind: 'storage', dtype, key: name, numel: numelOf(shape) }, offset: 0, shape, stride: [] });
  }
  return {
    root,
    pending: (t) => {
      const s = specs.get(t.storage.key)!;
      return { dtype: s.dtype, shape: s.shape, read: () => readAt(fd, s.begin, s.end - s.begin) };
    },
  };
}

const isTensor = (v: PyValue | undefined): v is TensorRef =>
  typeof v === 'object' && v !== null && !(v instanceof Map) && !Array.isArray(v) && (v as TensorRef).kind === 'tensor';
const WRAPPERS = ['model_state_dict', 'state_dict', 'model'] as const;

/** Unwraps, strips prefixes, converts: the state_dict as float32 tensors. */
function finish(file: string, parsed: { root: PyValue; pending: (t: TensorRef) => Pending }, close: () => void): Checkpoint {
  const notes: string[] = [];
  let dict = parsed.root;
  if (!(dict instanceof Map)) fail(file, 'holds no dict of tensors (a state_dict) at its top level');
  const wrapper = WRAPPERS.find((k) => (dict as PyDict).get(k) instanceof Map);
  if (wrapper) {
    const others = [...(dict as PyDict).keys()].filter((k) => k !== wrapper);
    dict = (dict as PyDict).get(wrapper)!;
    notes.push(
      `weights from '${wrapper}'${others.length ? ` (also in the file, not used: ${others.slice(0, 5).join(', ')}${others.length > 5 ? ', …' : ''})` : ''}`,
    );
  }
  let entries = [...(dict as PyDict).entries()].map(([k, v]) => [String(k), v] as const);
  const notTensor = entries.find(([, v]) => !isTensor(v));
  if (notTensor) fail(file, `entry '${notTensor[0].slice(0, 200)}' of the state_dict is not a tensor: not a PyTorch state_dict`);
  if (entries.length === 0) fail(file, 'holds an empty state_dict');
  if (entries.every(([k]) => k.startsWith('module.'))) {
    entries = entries.map(([k, v]) => [k.slice('module.'.length), v] as const);
    notes.push("DataParallel's 'module.' prefix stripped");
  }
  let normalization: Checkpoint['normalization'];
  if (entries.every(([k]) => /^\d+\./.test(k))) {
    // a Sequential around the model: the part with the most keys is the model; a part before it
    // that only holds mean/std is a normalisation layer
    const parts = new Map<string, (typeof entries)[number][]>();
    for (const e of entries) {
      const i = e[0].slice(0, e[0].indexOf('.'));
      parts.set(i, [...(parts.get(i) ?? []), e]);
    }
    const [main] = [...parts.entries()].sort((a, b) => b[1].length - a[1].length)[0]!;
    for (const [i, part] of parts) {
      if (i === main) continue;
      const names = part.map(([k]) => k.slice(i.length + 1)).sort();
      if (Number(i) < Number(main) && names.join(',') === 'mean,std') {
        const read = (name: string) =>
          Array.from(toFloat32(file, `${i}.${name}`, parsed.pending(part.find(([k]) => k === `${i}.${name}`)![1] as TensorRef), notes));
        normalization = { mean: read('mean'), std: read('std') };
        notes.push(`normalisation (mean/std) read from layer ${i} of the wrapping Sequential`);
      } else {
        fail(
          file,
          `the state_dict wraps several models in a Sequential (parts ${[...parts.keys()].join(', ')}; part ${i} holds ${names.slice(0, 4).join(', ')}): export the model alone`,
        );
      }
    }
    entries = parts.get(main)!.map(([k, v]) => [k.slice(main.length + 1), v] as const);
    notes.push(`Sequential index '${main}.' stripped`);
  }
  // sized before any is read: stride-0 views and safetensors entries sharing one byte range would
  // otherwise each allocate their full size (a 4-byte storage viewed as 1e9 elements)
  let elements = 0;
  for (const [key, ref] of entries) {
    if (key.endsWith('num_batches_tracked')) continue;
    elements += numelOf((ref as TensorRef).shape);
    if (elements * 4 > LIMITS.maxModelWeightBytes) {
      fail(
        file,
        `its tensors hold more than ${formatBytes(LIMITS.maxModelWeightBytes)} of float32 weights (past '${key.slice(0, 200)}'), the limit for one model`,
      );
    }
  }
  const pending = new Map<string, Pending>();
  for (const [key, ref] of entries) {
    // BN's step counter (int64) is not a weight
    if (key.endsWith('num_batches_tracked')) continue;
    const p = parsed.pending(ref as TensorRef);
    // dtypes are known without reading: refused (or noted) before anything else is checked
    checkDtype(file, key, p.dtype);
    if (p.dtype !== 'float32') notes.push(`${p.dtype} weights converted to float32`);
    pending.set(key, p);
  }
  return {
    shapes: new Map([...pending].map(([k, p]) => [k, p.shape])),
    read: (key) => {
      const p = pending.get(key);
      if (!p) return undefined;
      const data = toFloat32(file, key, p, []);
      if (key.endsWith('running_var')) {
        const bad = data.findIndex((v) => !(v > 0));
        if (bad >= 0) fail(file, `'${key}' holds ${data[bad]} at index ${bad}: a BatchNorm running_var must be > 0`);
      }
      return { shape: p.shape, data };
    },
    close,
    notes: [...new Set(notes)],
    normalization,
  };
}

function checkDtype(file: string, key: string, dtype: TorchDtype): void {
  if (dtype !== 'float32' && dtype !== 'float16' && dtype !== 'bfloat16') {
    fail(
      file,
      `tensor '${key.slice(0, 200)}' is ${dtype}: only float32 weights are read (float16/bfloat16 are converted); convert it in PyTorch with model.float()`,
    );
  }
}

/** float32 elements of a tensor: f16/bf16 widened (noted), other dtypes refused, non-finite refused. */
function toFloat32(file: string, key: string, p: Pending, notes: string[]): Float32Array {
  checkDtype(file, key, p.dtype);
  const raw = p.read();
  const n = numelOf(p.shape);
  let out: Float32Array;
  if (p.dtype === 'float32') {
    // aligned reads are viewed, not copied
    out =
      raw.byteOffset % 4 === 0 ? new Float32Array(raw.buffer, raw.byteOffset, n) : new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + 4 * n));
  } else {
    out = new Float32Array(n);
    const halves = new Uint16Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + 2 * n));
    const u32 = new Uint32Array(out.buffer);
    if (p.dtype === 'bfloat16') for (let i = 0; i < n; i++) u32[i] = halves[i]! << 16;
    else for (let i = 0; i < n; i++) out[i] = halfToFloat(halves[i]!);
    notes.push(`${p.dtype} weights converted to float32`);
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(out[i]!)) fail(file, `tensor '${key.slice(0, 200)}' holds ${out[i]} at index ${i}: a model's weights must be finite numbers`);
  }
  return out;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}
