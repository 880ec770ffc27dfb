/**
 * Hostile model files, generated here from a real TF.js model: NaN/Inf weights, impossible
 * manifests, weight files of the wrong size and deeply nested JSON are refused at import with
 * the file named, no row and no stored folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fileSaveHandler, ModelService } from '../../../src-main/services/models';
import { readCheckpoint } from '../../../src-main/services/models/pytorch/checkpoint';
import { readZipDirectory } from '../../../src-main/services/datasets/formats/zip';
import { zipFile } from '../datasets/writers';
import { openDatabase, type Db } from '../../../src-main/store/db';
import { peakRssRise } from '../../helpers/memory';
import { tempDir } from '../../helpers/tmp';

let dir: string;
let cleanup: () => void;
let db: Db;
let models: ModelService;
let exported: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

beforeEach(async () => {
  ({ dir, cleanup } = tempDir('puma-models-'));
  db = openDatabase(path.join(dir, 'log.db'));
  models = new ModelService(db, path.join(dir, 'data'));
  const model = tf.sequential({
    layers: [tf.layers.flatten({ inputShape: [4, 4, 1] }), tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) })],
  });
  exported = path.join(dir, 'exported');
  await model.save(fileSaveHandler(exported));
  model.dispose();
});

afterEach(() => {
  db.close();
  cleanup();
});

const modelJson = () => path.join(exported, 'model.json');
const readJson = () => JSON.parse(fs.readFileSync(modelJson(), 'utf8'));
const writeJson = (j: unknown) => fs.writeFileSync(modelJson(), JSON.stringify(j));

async function expectRefused(problem: RegExp): Promise<void> {
  const err = await models.importModel({ path: exported, name: 'm' }).then(
    () => null,
    (e: Error) => e,
  );
  expect(err, 'the import should fail').toBeInstanceOf(Error);
  expect(err!.message).toContain(modelJson());
  expect(err!.message).toMatch(problem);
  expect(models.list()).toEqual([]);
  const root = path.join(dir, 'data', 'models');
  expect(fs.existsSync(root) ? fs.readdirSync(root) : []).toEqual([]);
}

/** Overwrites float32 number `index` of weights.bin. */
function poke(index: number, value: number): void {
  const file = path.join(exported, 'weights.bin');
  const buf = fs.readFileSync(file);
  buf.writeFloatLE(value, 4 * index);
  fs.writeFileSync(file, buf);
}

describe('model files are checked at import', () => {
  it('a well-formed model imports (the control case)', async () => {
    const info = await models.importModel({ path: exported, name: 'ok' });
    expect(info.numClasses).toBe(3);
    expect(info.params).toBe(16 * 3 + 3);
  });

  it('NaN weights are refused, naming the weight', async () => {
    poke(5, NaN);
    await expectRefused(/weight 'dense_\w+\/kernel' holds NaN at index 5: a model's weights must be finite/);
  });

  it('infinite weights are refused (the bias, after the kernel)', async () => {
    poke(16 * 3 + 1, -Infinity);
    await expectRefused(/weight 'dense_\w+\/bias' holds -Infinity at index 1/);
  });

  it('a manifest shape with a negative or fractional dimension', async () => {
    const j = readJson();
    j.weightsManifest[0].weights[0].shape = [-16, -3];
    writeJson(j);
    await expectRefused(/dimension 0 of weight .* is -16; a dimension must be a whole number/);
    j.weightsManifest[0].weights[0].shape = [16, 2.5];
    writeJson(j);
    await expectRefused(/dimension 1 of weight .* is 2\.5/);
  });

  it('a manifest dtype that TF.js weights do not have', async () => {
    const j = readJson();
    j.weightsManifest[0].weights[0].dtype = 'complex128';
    writeJson(j);
    await expectRefused(/has dtype complex128; float32, int32 or bool expected/);
  });

  it('a manifest declaring terabytes of weights is refused before any file is read', async () => {
    const j = readJson();
    j.weightsManifest[0].weights[0].shape = [1_000_000, 1_000_000];
    writeJson(j);
    await expectRefused(/the manifest describes more than 2\.0 GiB of weights/);
  });

  it('a weight file larger than its manifest says is refused from its size', async () => {
    fs.appendFileSync(path.join(exported, 'weights.bin'), Buffer.alloc(1024 * 1024));
    await expectRefused(/weight files hold 1048780 bytes, the manifest describes 204/);
  });

  it('model.json nested 100000 deep is refused by its nesting, not a stack overflow', async () => {
    fs.writeFileSync(modelJson(), `{"modelTopology": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    await expectRefused(/JSON nested deeper than 100 levels/);
  });

  it('model.json that is not JSON: the message does not echo the text', async () => {
    fs.writeFileSync(modelJson(), 'root:*:20213:0:99999:7:::\n');
    const err = await models.importModel({ path: exported, name: 'm' }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/not valid JSON/);
    expect((err as Error).message).not.toContain('root:*');
  });
});

describe('PyTorch checkpoints', () => {
  /** A .safetensors file: 8-byte header length, the JSON header, then the data. */
  function safetensors(header: Record<string, unknown>, data: Uint8Array): Buffer {
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([len, json, data]);
  }

  it('tensors sharing one byte range are sized in total before any is read (600 views of 4 MB)', async () => {
    const header: Record<string, unknown> = {};
    for (let i = 0; i < 600; i++) header[`layer${i}.weight`] = { dtype: 'F32', shape: [1_000_000], data_offsets: [0, 4_000_000] };
    const file = path.join(dir, 'shared.safetensors');
    fs.writeFileSync(file, safetensors(header, new Uint8Array(4_000_000)));
    const { rise, result } = await peakRssRise(async () => readCheckpoint(file));
    expect(result).toBeInstanceOf(Error);
    expect((result as Error).message).toMatch(
      new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: its tensors hold more than 2\\.0 GiB of float32 weights \\(past 'layer\\d+\\.weight'\\)`),
    );
    expect(rise).toBeLessThan(500 * 1024 * 1024);
  });

  it('a deflated storage declaring 1 GiB behind ~1 MB is refused before its buffer is allocated', async () => {
    // a real torch.save zip (stored members), its first storage swapped for deflated zeros
    const source = path.resolve('test/fixtures/pytorch/bad/nan.pt');
    const bytes = fs.readFileSync(source);
    const members: Parameters<typeof zipFile>[0] = {};
    for (const e of readZipDirectory(source)) members[e.name] = bytes.subarray(e.dataOffset, e.dataOffset + e.compressedSize);
    const block = zlib.deflateRawSync(Buffer.alloc(1024 * 1024), { finishFlush: zlib.constants.Z_SYNC_FLUSH, level: 9 });
    members['nan/data/0'] = { deflated: Buffer.concat([...Array<Buffer>(1024).fill(block), Buffer.from([0x03, 0x00])]), size: 1024 ** 3 };
    const file = path.join(dir, 'bomb.pt');
    fs.writeFileSync(file, zipFile(members));
    expect(fs.statSync(file).size).toBeLessThan(2 * 1024 * 1024);
    const { rise, result } = await peakRssRise(async () => readCheckpoint(file));
    expect(result).toBeInstanceOf(Error);
    expect((result as Error).message).toContain(`${file} (member nan/data/0): expands past 1.0 GiB from`);
    expect((result as Error).message).toMatch(/over 50:1\): refused as a decompression bomb/);
    expect(rise).toBeLessThan(500 * 1024 * 1024);
  });

  it('a small honest .safetensors reads (the control case), NaN refused', () => {
    const data = new Float32Array([1, 2, 3, 4]);
    const file = path.join(dir, 'ok.safetensors');
    fs.writeFileSync(file, safetensors({ 'fc.weight': { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] } }, new Uint8Array(data.buffer)));
    expect(Array.from(readCheckpoint(file).read('fc.weight')!.data)).toEqual([1, 2, 3, 4]);
    data[2] = NaN;
    fs.writeFileSync(file, safetensors({ 'fc.weight': { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] } }, new Uint8Array(data.buffer)));
    expect(() => readCheckpoint(file).read('fc.weight')).toThrow(/tensor 'fc\.weight' holds NaN at index 2/);
  });
});
