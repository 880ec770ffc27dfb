/**
 * Writers of PyTorch state_dicts, byte for byte from the formats' definitions: `.safetensors`
 * (8-byte header length, JSON header, data) and the zip of `torch.save` (torch ≥ 1.6):
 * `<name>/data.pkl` (a protocol-2 pickle of an OrderedDict of `_rebuild_tensor_v2` calls whose
 * storages are persistent ids), `<name>/data/<key>` (each storage's little-endian bytes),
 * `<name>/version` and `<name>/byteorder`. `torch.load(f)` reads the result.
 */
import zlib from 'node:zlib';

/** A tensor to write: float32 weights, or BatchNorm's int64 step counter. */
export interface OutTensor {
  shape: number[];
  data: Float32Array | BigInt64Array;
}

const dtypeOf = (t: OutTensor) =>
  t.data instanceof Float32Array ? { st: 'F32', storage: 'FloatStorage', size: 4 } : { st: 'I64', storage: 'LongStorage', size: 8 };
const bytesOf = (t: OutTensor) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);

export function safetensorsBytes(tensors: ReadonlyMap<string, OutTensor>, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt', ...metadata } };
  let at = 0;
  for (const [name, t] of tensors) {
    header[name] = { dtype: dtypeOf(t).st, shape: t.shape, data_offsets: [at, at + t.data.byteLength] };
    at += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8); // data 8-byte aligned, as the reference writer does
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([len, Buffer.from(json), ...[...tensors.values()].map(bytesOf)]);
}

/** Protocol-2 pickle opcodes this writer emits. */
class Pickler {
  private readonly parts: Buffer[] = [];
  private memo = 0;

  op(...bytes: number[]): this {
    this.parts.push(Buffer.from(bytes));
    return this;
  }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    this.parts.push(Buffer.from('X'), len, b);
    return this;
  }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.op(0x4b, n); // BININT1
    if (n >= -(2 ** 31) && n < 2 ** 31) {
      const b = Buffer.alloc(5);
      b[0] = 0x4a; // BININT
      b.writeInt32LE(n, 1);
      this.parts.push(b);
      return this;
    }
    const b = Buffer.alloc(10);
    b[0] = 0x8a; // LONG1, 8 bytes
    b[1] = 8;
    b.writeBigInt64LE(BigInt(n), 2);
    this.parts.push(b);
    return this;
  }
  tuple(items: number[]): this {
    if (items.length === 0) return this.op(0x29); // EMPTY_TUPLE
    this.op(0x28);
    for (const i of items) this.int(i);
    return this.op(0x74);
  }
  global(module: string, name: string): this {
    this.parts.push(Buffer.from(`c${module}\n${name}\n`, 'latin1'));
    return this;
  }
  /** BINPUT: some readers expect the memo to be used; harmless otherwise. */
  put(): this {
    return this.memo < 256 ? this.op(0x71, this.memo++) : this;
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** C-contiguous strides of `shape`. */
const strides = (shape: number[]) => shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));

/** The data.pkl of a state_dict whose tensor `i` lives in storage key `String(i)`. */
export function stateDictPickle(tensors: ReadonlyMap<string, OutTensor>): Buffer {
  const p = new Pickler().op(0x80, 2); // PROTO 2
  p.global('collections', 'OrderedDict').op(0x29, 0x52).put(); // OrderedDict()
  p.op(0x28); // MARK for SETITEMS
  [...tensors].forEach(([name, t], i) => {
    const numel = t.shape.reduce((a, b) => a * b, 1);
    p.str(name);
    p.global('torch._utils', '_rebuild_tensor_v2');
    p.op(0x28); // MARK: args
    p.op(0x28).str('storage').global('torch', dtypeOf(t).storage).str(String(i)).str('cpu').int(numel).op(0x74).op(0x51); // (…) BINPERSID
    p.int(0).tuple(t.shape).tuple(strides(t.shape)).op(0x89); // offset, size, stride, requires_grad=False
    p.global('collections', 'OrderedDict').op(0x29, 0x52); // backward_hooks = OrderedDict()
    p.op(0x74, 0x52); // TUPLE, REDUCE
  });
  p.op(0x75, 0x2e); // SETITEMS, STOP
  return p.bytes();
}

/** A zip of stored (uncompressed) members, data aligned to 64 bytes as torch.save writes it. */
function zipStored(members: [string, Uint8Array][]): Buffer {
  const out: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of members) {
    const nameBuf = Buffer.from(name, 'utf8');
    const crc = zlib.crc32(data) >>> 0;
    // an extra field pads the data start to a multiple of 64 (torch's reader maps it in place)
    const headerEnd = offset + 30 + nameBuf.length;
    const pad = (64 - ((headerEnd + 4) % 64)) % 64;
    const extra = Buffer.alloc(4 + pad);
    extra.writeUInt16LE(0x4642, 0); // 'FB', as PyTorch's writer
    extra.writeUInt16LE(pad, 2);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    local.writeUInt16LE(extra.length, 28);
    out.push(local, nameBuf, extra, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(data.length, 20);
    cd.writeUInt32LE(data.length, 24);
    cd.writeUInt16LE(nameBuf.length, 28);
    cd.writeUInt32LE(offset, 42);
    central.push(cd, nameBuf);
    offset += 30 + nameBuf.length + extra.length + data.length;
    if (offset > 0xffffffff) throw new Error('pytorch/writers.ts: checkpoints past 4 GiB need zip64, not written');
  }
  const cdBuf = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(cdBuf.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...out, cdBuf, end]);
}

/** The bytes of `torch.save(state_dict, f)` for these tensors; `archive` is the zip's top folder. */
export function torchSaveBytes(tensors: ReadonlyMap<string, OutTensor>, archive = 'archive'): Buffer {
  const members: [string, Uint8Array][] = [[`${archive}/data.pkl`, stateDictPickle(tensors)]];
  [...tensors.values()].forEach((t, i) => members.push([`${archive}/data/${i}`, bytesOf(t)]));
  members.push([`${archive}/version`, Buffer.from('3\n')], [`${archive}/byteorder`, Buffer.from('little')]);
  return zipStored(members);
}
