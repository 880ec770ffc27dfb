/**
 * PyTorch-imported models written back as state_dicts (.pt and .safetensors): import → export →
 * import is exact (every tensor bit for bit, the same logits), the keys are the family's own, and,
 * where Debian's torch is installed, PyTorch loads the export strictly into the public-style class
 * and computes the original logits.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { forkJobLauncher } from '../../../src-main/jobs/fork-launcher';
import { PumaApp } from '../../../src-main/services/app';
import { fileSaveHandler, ModelService } from '../../../src-main/services/models';
import { readCheckpoint } from '../../../src-main/services/models/pytorch/checkpoint';
import { openDatabase, type Db } from '../../../src-main/store/db';
import { modelOfRun } from '../../helpers/model-runs';
import { tempDir } from '../../helpers/tmp';

const FIXTURES = path.resolve('test/fixtures/pytorch');
const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')) as {
  images: number[];
  shape: [number, number, number, number];
  models: Record<string, { arch: string; normalize?: string }>;
};
const hasTorch = spawnSync('/usr/bin/python3', ['-c', 'import torch, numpy'], { encoding: 'utf8' }).status === 0;

let dir: string;
let cleanup: () => void;
let db: Db;
let models: ModelService;

beforeAll(async () => {
  await tf.setBackend('cpu');
});
beforeEach(() => {
  ({ dir, cleanup } = tempDir('puma-pytorch-export-'));
  db = openDatabase(path.join(dir, 'log.db'));
  models = new ModelService(db, path.join(dir, 'data'));
});
afterEach(() => {
  db.close();
  cleanup();
});

async function logits(id: number): Promise<Float32Array> {
  const m = await models.load(id);
  const x = tf.tensor4d(
    Float32Array.from(expected.images, (v) => v / 255),
    expected.shape,
  );
  const y = (m.predict(x) as tf.Tensor).dataSync() as Float32Array;
  x.dispose();
  m.dispose();
  return y;
}

/** Every tensor of a checkpoint, as float32 bytes by key. */
function tensorsOf(file: string): Map<string, { shape: number[]; bytes: Buffer }> {
  const c = readCheckpoint(file);
  try {
    return new Map([...c.shapes.keys()].map((k) => [k, { shape: c.shapes.get(k)!, bytes: Buffer.from(c.read(k)!.data.buffer.slice(0)) }]));
  } finally {
    c.close();
  }
}

describe('models export', () => {
  const cases = Object.keys(expected.models)
    .filter((f) => !f.includes('f16'))
    .flatMap((f) => (['pt', 'safetensors'] as const).map((format) => [f, format] as const));

  it.each(cases)('%s → .%s → import is exact', async (file, format) => {
    const normalize = expected.models[file]!.normalize;
    const first = await models.importModel({ path: path.join(FIXTURES, file), name: 'first', ...(normalize ? { normalize } : {}) });
    const out = path.join(dir, `exported.${format}`);
    const result = await models.exportModel(first.id, format, out);
    expect(result).toEqual({ file: out, sidecar: `${out}.json`, format, keys: expect.any(Number) });

    // the original's tensors (wrappers stripped) and the export's are the same, bit for bit;
    // the export adds BN's num_batches_tracked, which load_state_dict expects
    const original = tensorsOf(path.join(FIXTURES, file));
    const again = tensorsOf(out);
    expect([...again.keys()].sort()).toEqual([...original.keys()].filter((k) => !/^sub_block/.test(k)).sort());
    for (const [k, t] of original) {
      expect(again.get(k)?.shape, k).toEqual(t.shape);
      expect(again.get(k)!.bytes.equals(t.bytes), k).toBe(true);
    }

    // the state_dict holds the model alone: its normalisation comes back from the sidecar
    const sidecar = JSON.parse(fs.readFileSync(`${out}.json`, 'utf8'));
    const norm = sidecar.normalization as { mean: number[]; std: number[] } | null;
    const second = await models.importModel({ path: out, name: 'second', normalize: norm ? `${norm.mean.join(',')}/${norm.std.join(',')}` : 'none' });
    expect(second.provenance.architecture).toBe(first.provenance.architecture);
    expect(Array.from(await logits(second.id))).toEqual(Array.from(await logits(first.id)));

    expect(sidecar).toMatchObject({ format, architecture: expected.models[file]!.arch, model_id: first.id, num_classes: first.numClasses, keys: result.keys });
    expect(sidecar.normalization).toEqual(first.provenance.pytorch?.normalization);
  });

  it('a model that was not imported from PyTorch is refused, nothing written', async () => {
    const m = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [4, 4, 1] }), tf.layers.dense({ units: 3 })] });
    await m.save(fileSaveHandler(path.join(dir, 'tfjs')));
    m.dispose();
    const info = await models.importModel({ path: path.join(dir, 'tfjs'), name: 'tfjs' });
    const out = path.join(dir, 'x.pt');
    await expect(models.exportModel(info.id, 'pt', out)).rejects.toThrow(/model \d+ "tfjs" was not imported from PyTorch/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it.skipIf(!hasTorch)('PyTorch loads each export strictly into the public class and computes the original logits', async () => {
    for (const file of ['preact_dm_wrapped.pt', 'resnet18_w4.pt', 'dm_wrn_10_1_silu.pt', 'dm_preact_w4_silu.safetensors']) {
      const normalize = expected.models[file]!.normalize;
      const info = await models.importModel({ path: path.join(FIXTURES, file), name: file, ...(normalize ? { normalize } : {}) });
      for (const format of ['pt', 'safetensors'] as const) {
        const out = path.join(dir, `${file}.${format}`);
        await models.exportModel(info.id, format, out);
        const r = spawnSync('/usr/bin/python3', [path.join(FIXTURES, 'check_export.py'), out, file], { encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(0);
        expect(JSON.parse(r.stdout).rel, `${file} as .${format}`).toBeLessThan(1e-4);
      }
    }
  });
});

describe('the models.export operation', () => {
  it('writes into a folder the user may name; elsewhere refused (400), nothing written', async () => {
    const t = tempDir('puma-export-op-');
    const app = new PumaApp({ dbPath: path.join(t.dir, 'log.db'), launcher: forkJobLauncher(), mode: 'browser' });
    try {
      const src = path.join(t.dir, 'r18.pt');
      fs.copyFileSync(path.join(FIXTURES, 'resnet18_w4.pt'), src);
      const { runId } = (await app.dispatch('models.import', { path: src, name: 'r18' })) as { runId: number };
      const info = await modelOfRun(app, runId);
      const out = path.join(t.dir, 'out.safetensors');
      expect(await app.dispatch('models.export', { id: info.id, format: 'safetensors', out })).toMatchObject({
        file: fs.realpathSync(t.dir) + '/out.safetensors',
        format: 'safetensors',
      });
      expect(fs.existsSync(`${out}.json`)).toBe(true);
      const err = await app.dispatch('models.export', { id: info.id, format: 'pt', out: '/proc/puma-out.pt' }).catch((e: Error) => e);
      expect(err).toMatchObject({ status: 400 });
      expect((err as Error).message).toMatch(/^out: .*refused/);
      expect(fs.existsSync('/proc/puma-out.pt')).toBe(false);
    } finally {
      app.close();
      t.cleanup();
    }
  });
});
