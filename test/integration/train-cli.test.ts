import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp';

const haveFashion = fs.existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz');
const t = tempDir('puma-train-cli-');
afterAll(() => t.cleanup());

const puma = (...args: string[]) =>
  spawnSync(process.execPath, [path.resolve('bin/puma.mjs'), ...args], { encoding: 'utf8', env: { ...process.env, PUMA_HOME: t.dir } });

describe.skipIf(!haveFashion)('puma train', () => {
  it('runs the laptop preset with --set overrides and prints exactly one JSON object', () => {
    const r = puma(
      'train',
      '--preset',
      'laptop',
      '--set',
      'epochs=1',
      '--set',
      'train_subset=256',
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
      path.join(t.dir, 'log.db'),
    );
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0]!) as { run_id: number; status: string; metrics: Record<string, number>; backend: string; seconds: number };
    expect(Object.keys(out)).toEqual(expect.arrayContaining(['run_id', 'status', 'metrics', 'backend', 'seconds']));
    expect(out.status).toBe('finished');
    for (const k of ['clean_acc', 'robust_acc_pgd', 'robust_acc_cw']) {
      expect(out.metrics[k]).toBeGreaterThanOrEqual(0);
      expect(out.metrics[k]).toBeLessThanOrEqual(1);
    }
    expect(out.metrics.robust_acc_pgd).toBeLessThanOrEqual(out.metrics.clean_acc);
    expect(out.backend).toBe('wasm');
  });

  it('refuses an unknown key with a message that names it, exit code 2', () => {
    const r = puma('train', '--preset', 'laptop', '--set', 'epochz=1', '--json', '--db', path.join(t.dir, 'log.db'));
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/epochz/);
  });
});
