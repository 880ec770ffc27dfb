/**
 * PyTorch checkpoints written by torch.save (test/fixtures/pytorch/make_fixtures.py, committed, so
 * torch is not needed here) imported as margin models: the stored TF.js model reproduces the
 * logits PyTorch computed, evaluation on a CIFAR-10-binary dataset labelled with PyTorch's own
 * predictions scores 100 %, and every malformed file is refused with the file named, no row and
 * no stored folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DatasetService } from '../../../src-main/services/datasets';
import { ModelService } from '../../../src-main/services/models';
import { LIMITS } from '../../../src-main/services/limits';
import { openDatabase, type Db } from '../../../src-main/store/db';
import type { ImportModelRequestInput } from '../../../src-shared/domain/models';
import { cifarBatch, idxFile, write, zipFile } from '../datasets/writers';
import { peakRssRise } from '../../helpers/memory';
import { tempDir } from '../../helpers/tmp';
import { safetensorsBytes } from '../../../src-main/services/models/pytorch/writers';

const FIXTURES = path.resolve('test/fixtures/pytorch');
interface Expected {
  images: number[];
  shape: [number, number, number, number];
  models: Record<string, { logits: number[][]; arch: string; depth?: number; width: number; classes: number; normalize?: string }>;
}
const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')) as Expected;
const CIFAR10_NORM = '0.4914,0.4822,0.4465/0.2471,0.2435,0.2616';

let dir: string;
let cleanup: () => void;
let db: Db;
let datasets: DatasetService;
let models: ModelService;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

beforeEach(() => {
  ({ dir, cleanup } = tempDir('puma-pytorch-'));
  db = openDatabase(path.join(dir, 'log.db'));
  datasets = new DatasetService(db, path.join(dir, 'data'));
  models = new ModelService(db, path.join(dir, 'data'), datasets);
});

afterEach(() => {
  db.close();
  cleanup();
});

const images = () =>
  tf.tensor4d(
    Float32Array.from(expected.images, (v) => v / 255),
    expected.shape,
  );
const argmax = (row: number[]) => row.indexOf(Math.max(...row));

/** max |ours − PyTorch's| / max |PyTorch's| over all logits. */
function relativeError(ours: number[][], theirs: number[][]): number {
  let diff = 0;
  let scale = 0;
  theirs.forEach((row, i) => row.forEach((v, j) => ((diff = Math.max(diff, Math.abs(ours[i]![j]! - v))), (scale = Math.max(scale, Math.abs(v))))));
  return diff / scale;
}

/** A CIFAR-10-binary dataset of the fixture images, labelled with `labels` (train and test). */
async function cifarDataset(labels: number[]): Promise<string> {
  const src = path.join(dir, 'cifar');
  const hwc = Uint8Array.from(expected.images);
  for (let b = 1; b <= 5; b++) write(src, `data_batch_${b}.bin`, cifarBatch(hwc, labels));
  write(src, 'test_batch.bin', cifarBatch(hwc, labels));
  await datasets.importDataset({ path: src, name: 'c10' });
  return 'c10';
}

/** `named`: what the message must name (the file, or the field at fault). */
async function expectRefused(req: ImportModelRequestInput, problem: RegExp, named = path.basename(req.path)): Promise<void> {
  const err = await models.importModel(req).then(
    () => null,
    (e: Error) => e,
  );
  expect(err, 'the import should fail').toBeInstanceOf(Error);
  expect(err!.message).toContain(named);
  expect(err!.message).toMatch(problem);
  expect(models.list()).toEqual([]);
  const root = path.join(dir, 'data', 'models');
  expect(fs.existsSync(root) ? fs.readdirSync(root) : []).toEqual([]);
}

describe('PyTorch checkpoints reproduce PyTorch', () => {
  it.each(Object.keys(expected.models))('%s: --arch auto, logits within 1e-4 of PyTorch', async (file) => {
    const want = expected.models[file]!;
    const info = await models.importModel({
      path: path.join(FIXTURES, file),
      name: file,
      arch: 'auto',
      ...(want.normalize ? { normalize: want.normalize } : {}),
    });
    expect(info.provenance.architecture).toBe(want.arch);
    expect(info.provenance.pytorch?.width).toBe(want.width);
    if (want.depth) expect(info.provenance.pytorch?.depth).toBe(want.depth);
    expect(info.numClasses).toBe(want.classes);
    expect(info.inputShape).toEqual([32, 32, 3]);
    const model = await models.load(info.id);
    const x = images();
    const logits = (model.predict(x) as tf.Tensor).arraySync() as number[][];
    x.dispose();
    model.dispose();
    expect(relativeError(logits, want.logits)).toBeLessThan(1e-4);
  });

  it('the DM-wrapped PreActResNet-18 says what was unwrapped; the WRN behind a Normalization layer keeps its mean/std', async () => {
    const pre = await models.importModel({ path: path.join(FIXTURES, 'preact_dm_wrapped.pt'), name: 'pre' });
    expect(pre.provenance.note).toMatch(/model_state_dict.*unaveraged_model_state_dict/);
    expect(pre.provenance.note).toMatch(/'module\.' prefix stripped.*'0\.' stripped/);
    expect(pre.provenance.pytorch?.normalization).toBeNull();
    const wrn = await models.importModel({ path: path.join(FIXTURES, 'wrn_relu_10_1_norm.pth'), name: 'wrn' });
    const n = wrn.provenance.pytorch?.normalization;
    expect(n?.mean.map((v) => +v.toFixed(4))).toEqual([0.5, 0.45, 0.4]);
    expect(n?.std.map((v) => +v.toFixed(4))).toEqual([0.25, 0.2, 0.3]);
    const f16 = await models.importModel({ path: path.join(FIXTURES, 'dm_wrn_10_1_f16.pt'), name: 'f16' });
    expect(f16.provenance.note).toMatch(/float16 weights converted to float32/);
  });

  it('a DM model without --normalize gets its class default (CIFAR-10); --normalize none changes the logits', async () => {
    const file = path.join(FIXTURES, 'dm_wrn_10_1_silu.pt');
    const dflt = await models.importModel({ path: file, name: 'default' });
    expect(dflt.provenance.pytorch?.normalization?.mean).toEqual([0.4914, 0.4822, 0.4465]);
    const none = await models.importModel({ path: file, name: 'none', normalize: 'none' });
    expect(none.provenance.pytorch?.normalization).toBeNull();
    const m = await models.load(none.id);
    const x = images();
    const logits = (m.predict(x) as tf.Tensor).arraySync() as number[][];
    x.dispose();
    m.dispose();
    expect(relativeError(logits, expected.models['dm_wrn_10_1_silu.pt']!.logits)).toBeGreaterThan(1e-2);
  });

  it("--evaluate-on a CIFAR-10-binary dataset labelled with PyTorch's predictions scores 100 % for each 10-class model", async () => {
    const labels = expected.models['resnet18_w4.pt']!.logits.map(argmax);
    await cifarDataset(labels);
    const r18 = await models.importModel({ path: path.join(FIXTURES, 'resnet18_w4.pt'), name: 'r18', evaluateOn: 'c10' });
    expect(r18.accuracy).toMatchObject({ clean: 1, count: 6, split: 'test', robust: null });
    // the other models' own predictions differ: a fraction matching theirs
    for (const [file, normalize] of [
      ['preact_dm_wrapped.pt', undefined],
      ['dm_wrn_10_1_silu.pt', CIFAR10_NORM],
    ] as const) {
      const own = expected.models[file]!.logits.map(argmax);
      const agree = own.filter((l, i) => l === labels[i]).length / labels.length;
      const info = await models.importModel({ path: path.join(FIXTURES, file), name: file, evaluateOn: 'c10', ...(normalize ? { normalize } : {}) });
      expect(info.accuracy?.clean).toBeCloseTo(agree, 10);
      expect(info.accuracy?.robust).toBeNull();
    }
  });

  it('a 7-class model evaluated on a 10-class dataset is refused before anything is written', async () => {
    await cifarDataset([0, 1, 2, 3, 4, 5]);
    await expectRefused({ path: path.join(FIXTURES, 'wrn_relu_10_1_norm.pth'), name: 'w', evaluateOn: 'c10' }, /the model has 7 classes, dataset "c10" has 10/);
  });
});

describe('dtypes and image sizes', () => {
  it('bfloat16 weights are widened to float32 with a note: the stored weights are the bf16 values exactly', async () => {
    // the DM PreAct .safetensors with every F32 tensor's low 16 bits dropped (bf16 is float32's top half)
    const src = fs.readFileSync(path.join(FIXTURES, 'dm_preact_w4_silu.safetensors'));
    const n = Number(src.readBigUInt64LE(0));
    const header = JSON.parse(src.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    const data = src.subarray(8 + n);
    const ob = header['logits.bias']!.data_offsets;
    const originalBias = Array.from({ length: (ob[1] - ob[0]) / 4 }, (_, i) => data.readFloatLE(ob[0] + 4 * i));
    const parts: Buffer[] = [];
    const truncated = new Map<string, number[]>();
    let at = 0;
    for (const [k, v] of Object.entries(header)) {
      if (k === '__metadata__') continue;
      let bytes = data.subarray(v.data_offsets[0], v.data_offsets[1]);
      if (v.dtype === 'F32') {
        const bf = Buffer.alloc(bytes.length / 2);
        const values: number[] = [];
        for (let i = 0; i < bytes.length / 4; i++) {
          bf.writeUInt16LE(bytes.readUInt32LE(4 * i) >>> 16, 2 * i);
          const b = Buffer.alloc(4);
          b.writeUInt32LE((bytes.readUInt32LE(4 * i) & 0xffff0000) >>> 0);
          values.push(b.readFloatLE(0));
        }
        truncated.set(k, values);
        bytes = bf;
      }
      header[k] = { dtype: v.dtype === 'F32' ? 'BF16' : v.dtype, shape: v.shape, data_offsets: [at, at + bytes.length] };
      at += bytes.length;
      parts.push(Buffer.from(bytes));
    }
    const text = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(text.length));
    const file = path.join(dir, 'bf16.safetensors');
    fs.writeFileSync(file, Buffer.concat([len, text, ...parts]));
    const info = await models.importModel({ path: file, name: 'bf16' });
    expect(info.provenance.note).toMatch(/bfloat16 weights converted to float32/);
    // its stored weights are exactly the truncated float32 values
    const m = await models.load(info.id);
    const layers = info.provenance.pytorch!.layers!;
    const bias = m.getLayer(Object.keys(layers).find((l) => layers[l] === 'logits')!).getWeights()[1]!;
    expect(Array.from(bias.dataSync())).toEqual(truncated.get('logits.bias'));
    // (and they are not the float32 originals: the test would pass vacuously otherwise)
    expect(truncated.get('logits.bias')).not.toEqual(originalBias);
    m.dispose();
  });

  it('a dataset of another image size is refused before anything is written', async () => {
    const src = path.join(dir, 'digits');
    write(src, 'train-images-idx3-ubyte', idxFile([4, 28, 28], new Uint8Array(4 * 784)));
    write(src, 'train-labels-idx1-ubyte', idxFile([4], Uint8Array.from([0, 1, 2, 3])));
    await datasets.importDataset({ path: src, name: 'digits', format: 'idx' });
    await expectRefused(
      { path: path.join(FIXTURES, 'resnet18_w4.pt'), name: 'r', evaluateOn: 'digits' },
      /resnet18 takes 32×32×3 images \(its public class pools a fixed final map\), dataset "digits" has 28×28×1/,
    );
  });
});

describe('malformed PyTorch files are refused, nothing written', () => {
  it.each([
    ['torchscript.pt', /TorchScript archive \(it holds constants\.pkl and a code\/ folder\): refused/],
    ['legacy.pt', /legacy format of torch < 1\.6/],
    ['os_system.pt', /the pickle names the global posix\.system.*refused/],
    ['f64.pt', /tensor 'conv1\.weight' is float64: only float32 weights are read/],
    ['nan.pt', /tensor 'layer2\.0\.conv2\.weight' holds NaN at index \d+: a model's weights must be finite/],
    ['running_var_0.pt', /'layer1\.1\.bn2\.running_var' holds 0 at index 1: a BatchNorm running_var must be > 0/],
    ['missing_key.pt', /no 'layer3\.0\.shortcut\.1\.weight', which this architecture needs \(missing key\)/],
  ])('%s', async (file, problem) => {
    await expectRefused({ path: path.join(FIXTURES, 'bad', file), name: 'bad' }, problem);
    expect(fs.existsSync('/tmp/puma-pwned')).toBe(false);
  });

  it('an --arch that does not match the key names', async () => {
    await expectRefused(
      { path: path.join(FIXTURES, 'resnet18_w4.pt'), name: 'x', arch: 'wrn' },
      /--arch wrn asked for, but the key names are those of resnet18/,
    );
  });

  it('a --normalize that is not a preset or MEAN/STD', async () => {
    await expectRefused(
      { path: path.join(FIXTURES, 'resnet18_w4.pt'), name: 'x', normalize: '0.5,0.5/0.2' },
      /'0\.5,0\.5\/0\.2' is not none, cifar10, cifar100/,
      '--normalize',
    );
    await expectRefused(
      { path: path.join(FIXTURES, 'resnet18_w4.pt'), name: 'x', normalize: '0.5/0.5' },
      /normalisation has 1 means and 1 stds, the model takes 3 channels/,
    );
  });

  it('unknown keys (an extra tensor) and shape mismatches', async () => {
    // a .safetensors written here from the fixture's header: one extra key, then one wrong shape
    const src = fs.readFileSync(path.join(FIXTURES, 'dm_preact_w4_silu.safetensors'));
    const n = Number(src.readBigUInt64LE(0));
    const header = JSON.parse(src.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    const data = src.subarray(8 + n);
    const rewrite = (h: object, name: string) => {
      const text = Buffer.from(JSON.stringify(h));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(text.length));
      const file = path.join(dir, name);
      fs.writeFileSync(file, Buffer.concat([len, text, data]));
      return file;
    };
    const extra = { ...header, 'extra_head.weight': { ...header['logits.bias']! } };
    await expectRefused(
      { path: rewrite(extra, 'extra.safetensors'), name: 'x' },
      /1 key of the state_dict that dm-preact-resnet18 does not have \(unknown keys\): extra_head\.weight/,
    );
    const bias = header['logits.bias']!;
    const wrong = { ...header, 'logits.bias': { ...bias, shape: [2, 5] } };
    await expectRefused({ path: rewrite(wrong, 'wrong.safetensors'), name: 'x' }, /'logits\.bias' has shape \[2, 5\], \[10\] expected \(shape mismatch\)/);
    const past = { ...header, 'logits.bias': { ...bias, data_offsets: [data.length - 8, data.length + 32] } };
    await expectRefused({ path: rewrite(past, 'past.safetensors'), name: 'x' }, /tensor 'logits\.bias'.*data_offsets.*past the end of the file/);
  });

  it('a zip whose data.pkl inflates past the limit is refused before it is inflated', async () => {
    const big = new Uint8Array(65 * 1024 ** 2);
    const file = path.join(dir, 'bomb.pt');
    fs.writeFileSync(file, zipFile({ 'bomb/data.pkl': big, 'bomb/version': new TextEncoder().encode('3\n') }, { deflate: true }));
    expect(fs.statSync(file).size).toBeLessThan(1024 ** 2);
    await expectRefused({ path: file, name: 'x' }, /data\.pkl of 65\.0 MiB, past 64\.0 MiB: not a state_dict/);
    expect(LIMITS.maxModelWeightBytes).toBeGreaterThan(65 * 1024 ** 2);
  });

  it('a file that is neither a zip nor a safetensors', async () => {
    const file = path.join(dir, 'notes.pth');
    fs.writeFileSync(file, 'just text');
    await expectRefused({ path: file, name: 'x' }, /neither a PyTorch zip checkpoint/);
  });
});

describe('memory', () => {
  /** A DeepMind WRN-16-8 state_dict (11 M weights, 44 MB) of small positive numbers, as .safetensors. */
  function bigSafetensors(file: string): number {
    const shapes = new Map<string, number[]>();
    const bn = (p: string, c: number) => ['weight', 'bias', 'running_mean', 'running_var'].forEach((k) => shapes.set(`${p}.${k}`, [c]));
    const ch = [16, 128, 256, 512];
    shapes.set('init_conv.weight', [16, 3, 3, 3]);
    for (let g = 0; g < 3; g++) {
      for (let b = 0; b < 2; b++) {
        const p = `layer.${g}.block.${b}`;
        const cin = b === 0 ? ch[g]! : ch[g + 1]!;
        const cout = ch[g + 1]!;
        bn(`${p}.batchnorm_0`, cin);
        shapes.set(`${p}.conv_0.weight`, [cout, cin, 3, 3]);
        bn(`${p}.batchnorm_1`, cout);
        shapes.set(`${p}.conv_1.weight`, [cout, cout, 3, 3]);
        if (cin !== cout) shapes.set(`${p}.shortcut.weight`, [cout, cin, 1, 1]);
      }
    }
    bn('batchnorm', 512);
    shapes.set('logits.weight', [10, 512]);
    shapes.set('logits.bias', [10]);
    const tensors = new Map([...shapes].map(([k, s]) => [k, { shape: s, data: new Float32Array(s.reduce((a, b) => a * b, 1)).fill(0.01) }] as const));
    fs.writeFileSync(file, safetensorsBytes(tensors));
    return fs.statSync(file).size;
  }

  it('a 44 MB checkpoint imports with resident memory rising by less than 3× its size', async () => {
    const file = path.join(dir, 'wrn-16-8.safetensors');
    const size = bigSafetensors(file);
    expect(size).toBeGreaterThan(40 * 1024 ** 2);
    const { rise, result } = await peakRssRise(() => models.importModel({ path: file, name: 'big', arch: 'dm-wrn' }));
    expect(result).not.toBeInstanceOf(Error);
    // every weight of the file is in the model (num_batches_tracked aside, none here)
    expect((result as { params: number }).params * 4).toBe(size - 8 - Number(fs.readFileSync(file).readBigUInt64LE(0)));
    expect(rise).toBeLessThan(3 * size);
  });
});
