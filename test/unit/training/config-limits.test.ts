/**
 * Impossible training configs and margins files are refused when the run is configured: bounds
 * on every count of the schema, and margin_set files checked (size, shape, count, finite values)
 * before any run row exists.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrainConfig, TrainConfig } from '../../../src-shared/domain/training';
import { encodeNpyFloat32 } from '../../../src-main/engine/margins/npy';
import { PumaApp } from '../../../src-main/services/app';
import { DatasetService } from '../../../src-main/services/datasets';
import { loadPreset } from '../../../src-main/services/training/presets';
import { TrainingService } from '../../../src-main/services/training/service';
import { fakeLauncher } from '../experiments/fake-launcher';
import { tempDir } from '../../helpers/tmp';
import { int64Labels, npyFile, pseudoBytes, write, zipFile } from '../datasets/writers';

describe('every count in a training config has an upper bound', () => {
  const refused: Array<[string, unknown, RegExp]> = [
    ['epochs', 1e12, /epochs/],
    ['epoch_size', 1e12, /epoch_size/],
    ['batch_size', 1e9, /batch_size/],
    ['eval_batch_size', 1e6, /eval_batch_size/],
    ['train_subset', 1e10, /train_subset/],
    ['attack_steps', 1e6, /attack_steps/],
    ['eval_attack_steps', 5000, /eval_attack_steps/],
    ['margin_model_epochs', 1e7, /margin_model_epochs/],
    ['width', 1e6, /width/],
    ['seed', 2 ** 40, /seed/],
    ['lr', 1e9, /lr/],
    ['threshold', 1e300, /threshold/],
    ['log_every', 1e9, /log_every/],
    ['step_milestones', Array(1001).fill(0.5), /step_milestones/],
    ['dataset', 'x'.repeat(5000), /dataset/],
  ];
  for (const [key, value, named] of refused) {
    it(`${key} = ${Array.isArray(value) ? `${value.length} elements` : String(value).slice(0, 20)} is refused, naming the key`, () => {
      expect(() => parseTrainConfig({ [key]: value }, 'cfg.json')).toThrow(named);
      expect(TrainConfig.safeParse({ [key]: value }).success).toBe(false);
    });
  }

  it('the largest allowed values, the defaults and both presets still parse', () => {
    expect(parseTrainConfig({ epochs: 10_000, batch_size: 65_536, epoch_size: 100_000_000, step_milestones: Array(1000).fill(0.5) }).epochs).toBe(10_000);
    expect(parseTrainConfig({}).batch_size).toBe(128);
    expect(loadPreset('laptop').epochs).toBeGreaterThan(0);
    expect(loadPreset('paper').epochs).toBe(400);
  });
});

describe('margin_set files are checked when the run is configured', () => {
  const N = 12;
  let t: ReturnType<typeof tempDir>;
  let app: PumaApp;
  let training: TrainingService;

  beforeAll(async () => {
    t = tempDir('puma-margin-file-');
    app = new PumaApp({ dbPath: path.join(t.dir, 'log.db'), launcher: fakeLauncher().launcher, mode: 'browser' });
    const images = npyFile('|u1', [N, 4, 4, 1], pseudoBytes(N * 16, 3));
    const labels = npyFile('<i8', [N], int64Labels(Array.from({ length: N }, (_, i) => i % 2)));
    await new DatasetService(app.db, app.dataDir).importDataset({
      path: write(t.dir, 'toy.npz', zipFile({ 'image.npy': images, 'label.npy': labels })),
      name: 'toy',
    });
    training = app.training;
  });
  afterAll(() => {
    app.close();
    t.cleanup();
  });

  const margins = (values: number[], shape?: number[]) => Buffer.from(encodeNpyFloat32(Float32Array.from(values), shape));
  const config = (file: string) => ({ dataset: 'toy', strategy: 'puma', prune_ratio: 0.5, margin_set: file });

  async function expectRefused(name: string, content: Uint8Array, problem: RegExp, extra: Record<string, unknown> = {}): Promise<void> {
    const file = write(t.dir, name, content);
    const before = app.runs.list({}).length;
    const err = await training.start({ ...config(file), ...extra }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err, 'start should fail').toBeInstanceOf(Error);
    expect((err as { status?: number }).status).toBe(400);
    expect(err!.message).toContain(`margin_set: ${file}`);
    expect(err!.message).toMatch(problem);
    expect(app.runs.list({})).toHaveLength(before);
  }

  it('±Inf and NaN margins', async () => {
    const ok = Array.from({ length: N }, (_, i) => i / N - 0.3);
    await expectRefused('inf.npy', margins(ok.map((v, i) => (i === 3 ? Infinity : v))), /margin Infinity at index 3 is not a finite number/);
    await expectRefused('ninf.npy', margins(ok.map((v, i) => (i === 0 ? -Infinity : v))), /margin -Infinity at index 0/);
    await expectRefused('nan.npy', margins(ok.map((v, i) => (i === 11 ? NaN : v))), /margin NaN at index 11/);
  });

  it('a count that matches neither the pool nor the samples used', async () => {
    await expectRefused('short.npy', margins([0.1, 0.2, 0.3]), /3 margins, but the pool has 12 samples \(12 used\)/);
    // with a subset, both counts are accepted and named
    await expectRefused('seven.npy', margins(Array(7).fill(0.1)), /7 margins, but the pool has 12 samples \(5 used\)/, { train_subset: 5 });
  });

  it('impossible shapes and dtypes, a missing file, an oversized file', async () => {
    const neg = Buffer.from(margins(Array(N).fill(0.1)).toString('latin1').replace(`(${N},)`, '(-32,)'), 'latin1');
    await expectRefused('neg.npy', neg, /shape \(-32,\) has dimension '-32'/);
    const frac = Buffer.from(margins(Array(N).fill(0.1)).toString('latin1').replace(`(${N},)`, '(1.5,)'), 'latin1');
    await expectRefused('frac.npy', frac, /dimension '1\.5'/);
    await expectRefused('matrix.npy', margins(Array(N).fill(0.1), [2, 6]), /margins must be a vector .* shape \(2, 6\)/);
    await expectRefused('f8.npy', npyFile('<f8', [N], new Uint8Array(8 * N)), /only little-endian float32/);
    await expectRefused('big.npy', Buffer.alloc(4 * 1024 * 1024), /more than a margins file for 12 samples can hold/);
    const missing = path.join(t.dir, 'nope.npy');
    const err = await training.start(config(missing)).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/margin_set: .*nope\.npy: no such file/);
  });

  it('a sweep with a bad margins file creates no experiment and no run', async () => {
    const file = write(t.dir, 'sweep-inf.npy', margins(Array.from({ length: N }, (_, i) => (i === 2 ? Infinity : 0.1))));
    const experiments = app.experiments;
    const before = app.runs.list({}).length;
    await expect(experiments.create({ name: 'sw', kind: 'train', base: config(file), grid: { seed: [0, 1] } })).rejects.toThrow(
      /sweep-inf\.npy: margin Infinity at index 2/,
    );
    expect(app.runs.list({})).toHaveLength(before);
    expect(experiments.listExperiments().map((e) => e.name)).not.toContain('sw');
  });

  it('a good margins file starts the run (the control case)', async () => {
    const file = write(t.dir, 'good.npy', margins(Array.from({ length: N }, (_, i) => i / N - 0.3)));
    const { runId } = await training.start(config(file));
    expect(app.runs.get(runId).kind).toBe('train');
  });

  it('a training config nested 100000 deep is refused by its nesting, naming the file (exit 2)', () => {
    const cfg = write(t.dir, 'deep.json', Buffer.from(`{"dataset": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`));
    const r = spawnSync(process.execPath, [path.resolve('bin/puma.mjs'), 'train', '--config', cfg, '--db', path.join(t.dir, 'log.db'), '--json'], {
      encoding: 'utf8',
      env: { ...process.env, PUMA_HOME: t.dir },
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${cfg}: JSON nested deeper than 100 levels`);
    expect(r.stderr).not.toMatch(/Maximum call stack/);
  });

  it('puma train exits 2 with the file named and creates no run', () => {
    const file = write(t.dir, 'cli-nan.npy', margins(Array.from({ length: N }, (_, i) => (i === 1 ? NaN : 0.1))));
    const db = path.join(t.dir, 'log.db');
    const cfg = write(t.dir, 'cfg.json', Buffer.from(JSON.stringify(config(file))));
    const before = app.runs.list({}).length;
    const r = spawnSync(process.execPath, [path.resolve('bin/puma.mjs'), 'train', '--config', cfg, '--db', db, '--json'], {
      encoding: 'utf8',
      env: { ...process.env, PUMA_HOME: t.dir },
    });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${file}: margin NaN at index 1`);
    expect(app.runs.list({})).toHaveLength(before);
    expect(fs.existsSync(path.join(t.dir, 'cli-nan.npy'))).toBe(true);
  });
});
