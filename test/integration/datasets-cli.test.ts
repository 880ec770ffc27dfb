/**
 * `puma datasets` as a user runs it: import with --json prints exactly one JSON object (the
 * DatasetInfo) on stdout and progress on stderr; list --json prints {"datasets": [...]}; bad
 * input exits with code 2 and a message naming the problem.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatasetInfo } from '../../src-shared/domain/datasets';
import { tempDir } from '../helpers/tmp';
import { idxFile, pseudoBytes, write } from '../unit/datasets/writers';

let dir: string;
let cleanup: () => void;
let db: string;

function puma(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.resolve('bin/puma.mjs'), ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  const t = tempDir();
  dir = t.dir;
  cleanup = t.cleanup;
  db = path.join(dir, 'cli.db');
  const idx = path.join(dir, 'digits');
  fs.mkdirSync(idx);
  write(idx, 'train-images-idx3-ubyte', idxFile([40, 4, 4], pseudoBytes(40 * 16, 5)));
  write(
    idx,
    'train-labels-idx1-ubyte',
    idxFile(
      [40],
      Uint8Array.from({ length: 40 }, (_, i) => i % 10),
    ),
  );
});
afterAll(() => cleanup?.());

describe('puma datasets', () => {
  it('imports with --json: one JSON object on stdout, progress on stderr', () => {
    const r = puma('datasets', 'import', path.join(dir, 'digits'), '--name', 'digits', '--format', 'idx', '--json', '--db', db);
    expect(r.stderr).toMatch(/100% /);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const info = JSON.parse(r.stdout) as DatasetInfo;
    expect(info).toMatchObject({ id: 1, name: 'digits', format: 'idx', shape: [4, 4, 1] });
    expect(info.splits.train).toEqual({ count: 40, perClass: Array(10).fill(4) });
  });

  it('lists with --json', () => {
    const r = puma('datasets', 'list', '--json', '--db', db);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { datasets: DatasetInfo[] };
    expect(out.datasets.map((d) => d.name)).toEqual(['digits']);
  });

  it('exits with code 2 and a clear message on bad input', () => {
    const cases: Array<[string[], RegExp]> = [
      [['datasets', 'import', path.join(dir, 'digits'), '--name', 'digits'], /named "digits" already exists/],
      [['datasets', 'import', path.join(dir, 'nothing'), '--name', 'x'], /nothing: no such file or folder/],
      [['datasets', 'import', path.join(dir, 'digits'), '--name', 'x', '--format', 'jpeg'], /--format must be one of/],
      [['datasets', 'import', path.join(dir, 'digits')], /needs --name NAME/],
      [['datasets', 'import', '--name', 'x'], /exactly one PATH/],
      [['datasets', 'download', 'imagenet'], /needs one of cifar10, mnist, fashion-mnist/],
      [['datasets', 'frobnicate'], /Unknown 'datasets' subcommand 'frobnicate'/],
    ];
    for (const [args, message] of cases) {
      const r = puma(...args, '--db', db);
      expect({ args, status: r.status }).toEqual({ args, status: 2 });
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    }
  });
});
