/**
 * A restricted unpickler for PyTorch state_dicts. Python's pickle is a small stack machine whose
 * GLOBAL + REDUCE opcodes call any importable function, so a checkpoint can run code when Python
 * loads it; no maintained JavaScript unpickler refuses that, hence this one. It knows only the
 * opcodes a state_dict needs and builds plain values: a GLOBAL must be on the allow-list below,
 * REDUCE may only rebuild a tensor or an OrderedDict, and nothing is ever called or imported.
 * Everything else is refused with the opcode or the global named.
 */

/** A tensor's storage as `torch.save` references it (persistent id `('storage', type, key, location, numel)`). */
export interface StorageRef {
  kind: 'storage';
  dtype: TorchDtype;
  key: string;
  numel: number;
}

/** What `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)` describes. */
export interface TensorRef {
  kind: 'tensor';
  storage: StorageRef;
  offset: number;
  shape: number[];
  stride: number[];
}

export type TorchDtype = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/** torch.<Name>Storage → dtype of the tensors built on it. */
const STORAGE_DTYPES: Record<string, TorchDtype> = {
  FloatStorage: 'float32',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  DoubleStorage: 'float64',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

/** The only globals a state_dict pickle may name. */
const ALLOWED_GLOBALS = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  ...Object.keys(STORAGE_DTYPES).map((s) => `torch.${s}`),
]);

/** An allow-listed global, as a value on the stack (never a function). */
interface GlobalRef {
  kind: 'global';
  name: string;
}

/** A dict or OrderedDict: insertion-ordered, string or number keys. */
export type PyDict = Map<string | number, PyValue>;
export type PyValue = null | boolean | number | string | Uint8Array | PyValue[] | PyDict | TensorRef | StorageRef | GlobalRef;

const MARK = Symbol('mark');
type StackItem = PyValue | typeof MARK;

/** Bounds a hostile pickle cannot push past: memo entries, stack size, container items. */
const MAX_MEMO = 10_000_000;
const MAX_STACK = 1_000_000;

const OPCODE_NAMES: Record<number, string> = {
  0x69: 'INST',
  0x6f: 'OBJ',
  0x81: 'NEWOBJ',
  0x92: 'NEWOBJ_EX',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x50: 'PERSID (text)',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

const isMap = (v: unknown): v is PyDict => v instanceof Map;
const isGlobal = (v: unknown): v is GlobalRef => typeof v === 'object' && v !== null && (v as GlobalRef).kind === 'global';

/**
 * Parses `data` (a data.pkl) into plain values. `where` names the file in every message.
 * `calls` (tests) records each REDUCE applied: only ever an allow-listed rebuilder.
 */
export function unpickle(data: Uint8Array, where: string, calls?: string[]): PyValue {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const text = new TextDecoder('utf-8', { fatal: true });
  const stack: StackItem[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PyValue>();
  let p = 0;

  const fail = (why: string): never => {
    throw new Error(`${where}: ${why}`);
  };
  const need = (n: number): void => {
    if (p + n > data.length) fail(`the pickle ends in the middle of an opcode at byte ${p} (truncated or not a pickle)`);
  };
  const u8 = () => (need(1), data[p++]!);
  const u16 = () => (need(2), (p += 2), view.getUint16(p - 2, true));
  const u32 = () => (need(4), (p += 4), view.getUint32(p - 4, true));
  const i32 = () => (need(4), (p += 4), view.getInt32(p - 4, true));
  const u64 = (): number => {
    need(8);
    const v = view.getBigUint64(p, true);
    p += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`a length of ${v} bytes at byte ${p - 8}`);
    return Number(v);
  };
  const bytes = (n: number): Uint8Array => {
    need(n);
    p += n;
    return data.subarray(p - n, p);
  };
  const str = (n: number): string => {
    const b = bytes(n);
    try {
      return text.decode(b);
    } catch {
      return fail(`a string at byte ${p - n} is not valid UTF-8`);
    }
  };
  const line = (): string => {
    const end = data.indexOf(0x0a, p);
    if (end < 0 || end - p > 1000) fail(`a GLOBAL at byte ${p} has no end of line`);
    const s = Buffer.from(data.subarray(p, end)).toString('latin1');
    p = end + 1;
    return s;
  };
  const push = (v: PyValue): void => {
    if (stack.length >= MAX_STACK) fail(`the pickle's stack grows past ${MAX_STACK} items`);
    stack.push(v);
  };
  const pop = (): PyValue => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1]! + 1)) fail(`opcode at byte ${p - 1} pops from an empty stack`);
    return stack.pop() as PyValue;
  };
  const top = (): PyValue => {
    if (stack.length === 0) fail(`opcode at byte ${p - 1} needs a value on the stack`);
    const v = stack[stack.length - 1]!;
    if (v === MARK) fail(`opcode at byte ${p - 1} finds a MARK where a value belongs`);
    return v as PyValue;
  };
  const popMark = (): PyValue[] => {
    const m = marks.pop();
    if (m === undefined) fail(`opcode at byte ${p - 1} needs a MARK, none is open`);
    const items = stack.splice(m! + 1) as PyValue[];
    stack.pop(); // the MARK itself
    return items;
  };
  const put = (i: number): void => {
    if (memo.size >= MAX_MEMO && !memo.has(i)) fail(`the pickle's memo grows past ${MAX_MEMO} entries`);
    memo.set(i, top());
  };
  const get = (i: number): void => {
    if (!memo.has(i)) fail(`memo entry ${i} is read before it is written`);
    push(memo.get(i)!);
  };
  const global = (module: string, name: string): void => {
    const full = `${module}.${name}`;
    if (!ALLOWED_GLOBALS.has(full)) {
      fail(
        `the pickle names the global ${full.slice(0, 120)}, which a PyTorch state_dict does not need: refused (a checkpoint can run code when Python loads it; only tensors, storages and OrderedDicts are read)`,
      );
    }
    push({ kind: 'global', name: full });
  };
  const setItems = (dict: PyValue, items: PyValue[]): void => {
    if (!isMap(dict)) fail(`SETITEM(S) at byte ${p - 1} on something that is not a dict`);
    if (items.length % 2) fail(`SETITEMS at byte ${p - 1} with an odd number of items`);
    for (let i = 0; i < items.length; i += 2) {
      const k = items[i];
      if (typeof k !== 'string' && typeof k !== 'number') fail(`a dict key at byte ${p - 1} is not a string or a number`);
      (dict as PyDict).set(k as string | number, items[i + 1]!);
    }
  };
  const appendItems = (list: PyValue, items: PyValue[]): void => {
    if (!Array.isArray(list)) fail(`APPEND(S) at byte ${p - 1} on something that is not a list`);
    for (const v of items) (list as PyValue[]).push(v);
  };
  const int = (v: PyValue, what: string): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(`${what} is ${JSON.stringify(v)?.slice(0, 40)}; a whole number ≥ 0 is expected`);
    return v as number;
  };
  const ints = (v: PyValue, what: string): number[] => {
    if (!Array.isArray(v)) fail(`${what} is not a tuple`);
    return (v as PyValue[]).map((x, i) => int(x, `${what}[${i}]`));
  };
  const reduce = (fn: PyValue, args: PyValue): PyValue => {
    if (!isGlobal(fn)) fail(`REDUCE at byte ${p - 1} calls something that is not an allowed global`);
    if (!Array.isArray(args)) fail(`REDUCE at byte ${p - 1} without an argument tuple`);
    const g = fn as GlobalRef;
    const a = args as PyValue[];
    switch (g.name) {
      case 'collections.OrderedDict': {
        calls?.push(g.name);
        const d: PyDict = new Map();
        if (a.length > 0) {
          // OrderedDict([(k, v), ...])
          if (!Array.isArray(a[0])) fail('OrderedDict built from something that is not a list of pairs');
          for (const pair of a[0] as PyValue[]) {
            if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string')
              fail('OrderedDict built from something that is not a list of (name, value) pairs');
            d.set((pair as PyValue[])[0] as string, (pair as PyValue[])[1]!);
          }
        }
        return d;
      }
      case 'torch._utils._rebuild_tensor_v2': {
        calls?.push(g.name);
        if (a.length < 4) fail(`_rebuild_tensor_v2 with ${a.length} arguments, at least 4 expected`);
        const storage = a[0] as StorageRef;
        if (!storage || typeof storage !== 'object' || (storage as StorageRef).kind !== 'storage')
          fail('_rebuild_tensor_v2 on something that is not a storage');
        const shape = ints(a[2]!, 'a tensor size');
        const stride = ints(a[3]!, 'a tensor stride');
        if (shape.length !== stride.length) fail(`a tensor of size (${shape.join(', ')}) has ${stride.length} strides`);
        return { kind: 'tensor', storage, offset: int(a[1]!, 'a storage offset'), shape, stride };
      }
      case 'torch._utils._rebuild_parameter': {
        calls?.push(g.name);
        const t = a[0] as TensorRef;
        if (!t || typeof t !== 'object' || t.kind !== 'tensor') fail('_rebuild_parameter on something that is not a tensor');
        return t;
      }
      default:
        // storage classes are only ever arguments of persistent ids
        return fail(`the pickle calls ${g.name}, which only names a storage type: refused`);
    }
  };
  const persistentLoad = (pid: PyValue): StorageRef => {
    if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) fail(`a persistent id that is not a ('storage', type, key, location, numel) tuple`);
    const [, type, key, , numel] = pid as PyValue[];
    if (!isGlobal(type) || !type.name.startsWith('torch.') || !STORAGE_DTYPES[type.name.slice(6)])
      fail(`a storage of type ${JSON.stringify(type)?.slice(0, 60)}`);
    if (typeof key !== 'string' || !/^[\w.-]{1,64}$/.test(key)) fail(`a storage key ${JSON.stringify(key)?.slice(0, 60)} that is not a plain name`);
    return { kind: 'storage', dtype: STORAGE_DTYPES[(type as GlobalRef).name.slice(6)]!, key: key as string, numel: int(numel!, 'a storage size') };
  };

  for (;;) {
    const at = p;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail(`pickle protocol ${data[p - 1]} is newer than 5`);
        break;
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: {
        // STOP
        if (stack.length !== 1 || marks.length) fail('the pickle stops with a malformed stack');
        return stack[0] as PyValue;
      }
      case 0x28: // MARK
        marks.push(stack.length);
        stack.push(MARK);
        break;
      case 0x30: // POP
        if (stack[stack.length - 1] === MARK) popMark();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x4a: // BININT
        push(i32());
        break;
      case 0x4b: // BININT1
        push(u8());
        break;
      case 0x4d: // BININT2
        push(u16());
        break;
      case 0x8a: {
        // LONG1: little-endian two's complement of n ≤ 8 bytes
        const n = u8();
        if (n > 8) fail(`an integer of ${n} bytes at byte ${at}`);
        const b = bytes(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
        if (n > 0 && b[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) fail(`an integer too large (${v}) at byte ${at}`);
        push(Number(v));
        break;
      }
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x47: // BINFLOAT (big-endian)
        need(8);
        push(view.getFloat64(p, false));
        p += 8;
        break;
      case 0x58: // BINUNICODE
        push(str(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(str(u8()));
        break;
      case 0x8d: // BINUNICODE8
        push(str(u64()));
        break;
      case 0x42: // BINBYTES
        push(bytes(u32()));
        break;
      case 0x43: // SHORT_BINBYTES
        push(bytes(u8()));
        break;
      case 0x8e: // BINBYTES8
        push(bytes(u64()));
        break;
      case 0x7d: // EMPTY_DICT
        push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        push([]);
        break;
      case 0x74: // TUPLE
      case 0x6c: // LIST
        push(popMark());
        break;
      case 0x64: {
        // DICT
        const d: PyDict = new Map();
        setItems(d, popMark());
        push(d);
        break;
      }
      case 0x85: // TUPLE1
        push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        push([pop(), b, c]);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x68: // BINGET
        get(u8());
        break;
      case 0x6a: // LONG_BINGET
        get(u32());
        break;
      case 0x71: // BINPUT
        put(u8());
        break;
      case 0x72: // LONG_BINPUT
        put(u32());
        break;
      case 0x94: // MEMOIZE
        put(memo.size);
        break;
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        global(module, line());
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail(`STACK_GLOBAL at byte ${at} without a module and a name`);
        global(module as string, name as string);
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        push(reduce(fn, args));
        break;
      }
      case 0x62: {
        // BUILD: an OrderedDict's state (a state_dict's _metadata) is dropped; anything else refused
        pop();
        const obj = top();
        if (!isMap(obj)) fail(`BUILD at byte ${at} sets the state of an object; only a state_dict's OrderedDict may have one`);
        break;
      }
      case 0x51: // BINPERSID
        push(persistentLoad(pop()));
        break;
      default: {
        const name = OPCODE_NAMES[op];
        fail(
          name
            ? `the pickle uses opcode ${name} (it builds arbitrary objects): refused; a PyTorch state_dict needs none`
            : `unknown or unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${at}`,
        );
      }
    }
  }
}
