/**
 * The CLI contract of a PUMA run's artifacts (issue 13's check, on a small subset): `puma train
 * --json` reports margin_model_id and margin_set_id, and `puma margins list --json` / `puma models
 * list --json` list that set and that model with the run that made them.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp';

const haveFashion = fs.existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz');
const t = tempDir('puma-train-cli-artifacts-');
afterAll(() => t.cleanup());
const db = path.join(t.dir, 'log.db');

const puma = (...args: string[]) =>
  spawnSync(process.execPath, [path.resolve('bin/puma.mjs'), ...args], { encoding: 'utf8', env: { ...process.env, PUMA_HOME: t.dir } });
const json = (r: ReturnType<typeof puma>): Record<string, unknown> => {
  expect(r.status, r.stderr).toBe(0);
  const lines = r.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]!) as Record<string, unknown>;
};

describe.skipIf(!haveFashion)('puma train with PUMA, then margins list and models list', () => {
  it('lists the margin set and the margin model the run reports, with its run id', () => {
    const SUBSET = 300;
    const out = json(
      puma(
        'train',
        '--preset',
        'laptop',
        '--set',
        'strategy=puma',
        '--set',
        'prune_ratio=0.2',
        '--set',
        'epochs=1',
        '--set',
        `train_subset=${SUBSET}`,
        '--set',
        'epoch_size=128',
        '--set',
        'eval_subset=32',
        '--set',
        'eval_attack_steps=1',
        '--set',
        'attack_steps=1',
        '--json',
        '--db',
        db,
      ),
    ) as { run_id: number; status: string; margin_model_id: number | null; margin_set_id: number | null };
    expect(out.status).toBe('finished');
    expect(out.margin_model_id).toEqual(expect.any(Number));
    expect(out.margin_set_id).toEqual(expect.any(Number));

    const { margin_sets: sets } = json(puma('margins', 'list', '--json', '--db', db)) as { margin_sets: Array<Record<string, unknown>> };
    const set = sets.find((s) => s.id === out.margin_set_id);
    expect(set, JSON.stringify(sets)).toBeDefined();
    expect(set).toMatchObject({
      dataset: 'fashion-mnist',
      method: 'fast',
      count: SUBSET,
      subset: SUBSET,
      run_id: out.run_id,
      run_kind: 'train',
      model_id: out.margin_model_id,
      status: 'complete',
    });

    const { models } = json(puma('models', 'list', '--json', '--db', db)) as { models: Array<Record<string, unknown>> };
    const model = models.find((m) => m.id === out.margin_model_id);
    expect(model, JSON.stringify(models)).toBeDefined();
    expect(model).toMatchObject({ name: set!.model, run_id: out.run_id, role: 'margin_model', arch: 'cnn-small', dataset: 'fashion-mnist', source: 'trained' });
    const acc = model!.accuracies as { clean: number; count: number };
    expect(acc.clean).toBeGreaterThanOrEqual(0);
    expect(acc.clean).toBeLessThanOrEqual(1);
    expect(acc.count).toBe(32);
  }, 300_000);

  it('refuses an unknown flag of margins list with exit code 2, naming it', () => {
    const r = puma('margins', 'list', '--jsn', '--db', db);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/--jsn/);
  });
});
