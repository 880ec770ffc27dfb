/**
 * The restricted unpickler: pickles written here opcode by opcode (from the pickle format's
 * definition) that try to name or call anything else are refused, and on real torch.save files
 * the only callables it applies are the allow-listed tensor/OrderedDict rebuilders.
 */
import fs from 'node:fs';
import path from 'node:path';
import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { unpickle, type PyDict, type TensorRef } from '../../../src-main/services/models/pytorch/unpickle';

const FIXTURES = path.resolve('test/fixtures/pytorch');
const ALLOWED = new Set(['collections.OrderedDict', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_parameter']);

/** Bytes of a pickle: strings as latin1, numbers as single bytes. */
function pickle(...parts: (string | number)[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => (typeof p === 'number' ? [p] : [...Buffer.from(p, 'latin1')])));
}
const PROTO2 = [0x80, 2] as const;
const binunicode = (s: string) => ['X', s.length, 0, 0, 0, s] as const;

function refused(data: Uint8Array, problem: RegExp): void {
  const calls: string[] = [];
  expect(() => unpickle(data, 'evil.pt', calls)).toThrow(problem);
  expect(calls.filter((c) => !ALLOWED.has(c))).toEqual([]);
}

describe('restricted unpickler', () => {
  it('reads primitive containers (control case)', () => {
    // {'a': [1, True, None, 'x'], 'b': (2.5,)}
    const data = pickle(
      ...PROTO2,
      '}',
      '(',
      ...binunicode('a'),
      ']',
      '(',
      'K',
      1,
      0x88,
      'N',
      ...binunicode('x'),
      'e',
      ...binunicode('b'),
      'G',
      ...Buffer.from([0x40, 0x04, 0, 0, 0, 0, 0, 0]).values(),
      0x85,
      'u',
      '.',
    );
    const v = unpickle(data, 'ok.pkl') as PyDict;
    expect(v.get('a')).toEqual([1, true, null, 'x']);
    expect(v.get('b')).toEqual([2.5]);
  });

  it('refuses GLOBAL os.system (and never runs it)', () => {
    refused(
      pickle(...PROTO2, 'c', 'os\nsystem\n', '(', ...binunicode('touch /tmp/x'), 't', 'R', '.'),
      /evil\.pt: the pickle names the global os\.system.*refused/,
    );
  });

  it('refuses STACK_GLOBAL builtins.eval', () => {
    refused(pickle(0x80, 4, 0x8c, 8, 'builtins', 0x8c, 4, 'eval', 0x93, '.'), /the global builtins\.eval/);
  });

  it('refuses a look-alike of an allowed global (torch._utils._rebuild_tensor_v2 is not torch._utils.__import__)', () => {
    refused(pickle(...PROTO2, 'c', 'torch._utils\n__import__\n', '.'), /the global torch\._utils\.__import__/);
    refused(pickle(...PROTO2, 'c', 'torch\nload\n', '.'), /the global torch\.load/);
  });

  it('refuses calling a storage class (it is only a persistent id argument)', () => {
    refused(pickle(...PROTO2, 'c', 'torch\nFloatStorage\n', ')', 'R', '.'), /calls torch\.FloatStorage, which only names a storage type/);
  });

  it('refuses the object-building opcodes (NEWOBJ, INST, OBJ, EXT1)', () => {
    refused(pickle(...PROTO2, 'c', 'collections\nOrderedDict\n', ')', 0x81, '.'), /opcode NEWOBJ/);
    refused(pickle('(', 'i', 'os\nsystem\n', '.'), /opcode INST/);
    refused(pickle(...PROTO2, '(', 'c', 'collections\nOrderedDict\n', 'o', '.'), /opcode OBJ/);
    refused(pickle(...PROTO2, 0x82, 1, '.'), /opcode EXT1/);
  });

  it('refuses BUILD on anything but an OrderedDict, REDUCE on a non-global', () => {
    refused(pickle(...PROTO2, ']', '}', 'b', '.'), /BUILD at byte \d+ sets the state of an object/);
    refused(pickle(...PROTO2, ']', ')', 'R', '.'), /REDUCE at byte \d+ calls something that is not an allowed global/);
  });

  it('refuses a persistent id that is not a storage reference', () => {
    refused(pickle(...PROTO2, ...binunicode('x'), 0x85, 'Q', '.'), /persistent id that is not a \('storage'/);
  });

  it('refuses truncated pickles, unknown opcodes and memo reads before writes', () => {
    refused(pickle(...PROTO2, 'X', 100, 0, 0, 0, 'abc'), /ends in the middle of an opcode/);
    refused(pickle(...PROTO2, 0xff), /unknown or unsupported pickle opcode 0xff/);
    refused(pickle(...PROTO2, 'h', 3, '.'), /memo entry 3 is read before it is written/);
    refused(pickle(...PROTO2, '0', '.'), /pops from an empty stack/);
  });

  it('on real torch.save files applies only the allow-listed rebuilders, one per tensor', () => {
    for (const file of ['resnet18_w4.pt', 'preact_dm_wrapped.pt', 'wrn_relu_10_1_norm.pth', 'dm_wrn_10_1_f16.pt']) {
      const zip = unzipSync(new Uint8Array(fs.readFileSync(path.join(FIXTURES, file))));
      const name = Object.keys(zip).find((n) => n.endsWith('/data.pkl'))!;
      const calls: string[] = [];
      const root = unpickle(zip[name]!, file, calls) as PyDict;
      expect(new Set(calls)).toEqual(new Set(['collections.OrderedDict', 'torch._utils._rebuild_tensor_v2']));
      const tensors: TensorRef[] = [];
      const walk = (v: unknown): void => {
        if (v instanceof Map) v.forEach(walk);
        else if (v && typeof v === 'object' && (v as TensorRef).kind === 'tensor') tensors.push(v as TensorRef);
      };
      walk(root);
      expect(calls.filter((c) => c === 'torch._utils._rebuild_tensor_v2').length).toBeGreaterThanOrEqual(new Set(tensors).size);
      expect(tensors.length).toBeGreaterThan(10);
      // each tensor's storage is a member of the archive
      for (const t of tensors) expect(zip[name.replace('data.pkl', `data/${t.storage.key}`)]).toBeDefined();
    }
  });
});

describe('tensor views', () => {
  it('a transposed tensor and a slice at an offset of a shared storage read in row-major order', async () => {
    const { readCheckpoint } = await import('../../../src-main/services/models/pytorch/checkpoint');
    const c = readCheckpoint(path.join(FIXTURES, 'views.pt'));
    try {
      expect(c.shapes.get('t')).toEqual([3, 2]);
      expect(Array.from(c.read('t')!.data)).toEqual([0, 3, 1, 4, 2, 5]);
      expect(Array.from(c.read('s')!.data)).toEqual([6, 7, 8]);
    } finally {
      c.close();
    }
  });
});
