import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp';

// These fail in validation, before any dataset is needed, so they run on every machine.
const t = tempDir('puma-config-errors-');
afterAll(() => t.cleanup());

const puma = (...args: string[]) =>
  spawnSync(process.execPath, [path.resolve('bin/puma.mjs'), ...args, '--db', path.join(t.dir, 'log.db')], {
    encoding: 'utf8',
    env: { ...process.env, PUMA_HOME: t.dir },
  });

describe('puma train: settings errors in words', () => {
  it('--set epochz=3 exits 2 and suggests epochs', () => {
    const r = puma('train', '--preset', 'laptop', '--set', 'epochz=3', '--json');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe("puma: preset laptop: Unknown setting 'epochz' — did you mean 'epochs'?");
  });

  it('a bad value names the field in words, its key and the value', () => {
    const r = puma('train', '--preset', 'laptop', '--set', 'strategy=pumaa', '--set', 'prune_ratio=1.5', '--json');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(
      'Pruning strategy (strategy): must be one of none, random, pe, pd, pe_pd, puma, online_puma, got "pumaa" — did you mean \'puma\'?',
    );
    expect(r.stderr).toContain('Pruning ratio r (prune_ratio): must be at most 0.99, got 1.5');
  });

  it('a malformed --set names the flag, not the parser', () => {
    const r = puma('train', '--preset', 'laptop', '--set', 'epochs', '--json');
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('puma: --set epochs: "epochs" is not of the form key=value');
  });
});

describe('puma perceptron: settings errors in words', () => {
  it('names the list item, quotes the value and suggests the closest strategy; exit 2', () => {
    const r = puma('perceptron', '--ratios', '0,1.5', '--strategies', 'none,pee', '--json');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe(
      'puma: Invalid perceptron settings: Pruning ratios r (ratios), item 2: must be below 1, got 1.5; Strategies (strategies), item 2: must be one of none, pe, pd, got "pee" — did you mean \'pe\'?',
    );
  });
});

describe('puma sweep: settings errors in words', () => {
  it('suggests the closest key for a --grid typo and quotes bad values with the runs they affect; exit 2', () => {
    const typo = puma('sweep', '--preset', 'laptop', '--grid', 'epochz=1,2');
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain("Unknown setting 'epochz' — did you mean 'epochs'? (runs 1, 2)");
    const bad = puma('sweep', '--preset', 'laptop', '--grid', 'prune_ratio=0.2,1.5');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('prune_ratio: must be at most 0.99, got 1.5 (runs 2)');
    expect(bad.stderr).not.toMatch(/Too big|expected number/);
  });
});
