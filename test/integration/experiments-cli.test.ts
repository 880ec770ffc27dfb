/**
 * `puma sweep` and `puma export` as a user runs them: a 2 × 2 perceptron grid queued and run in
 * real job processes, one JSON object on stdout, then the grouped table as LaTeX, Markdown and
 * CSV, and clear errors for bad arguments.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp';

let dir: string;
let cleanup: () => void;
let db: string;

function puma(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('node', ['bin/puma.mjs', ...args], { cwd: path.resolve('.'), timeout: 110_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(() => {
  const t = tempDir('puma-cli-exp-');
  dir = t.dir;
  cleanup = t.cleanup;
  db = path.join(dir, 'log.db');
  fs.writeFileSync(
    path.join(dir, 'perceptron.json'),
    JSON.stringify({ kind: 'perceptron', config: { k: 20, alphas: [1, 2], ratios: [0], strategies: ['none'], seeds: 2, maxSteps: 200 } }),
  );
});
afterAll(() => cleanup());

describe('puma sweep + puma export', () => {
  let experimentId: number;
  let runIds: number[];

  it('queues and runs the grid, printing one JSON object', async () => {
    const r = await puma([
      'sweep',
      '--config',
      path.join(dir, 'perceptron.json'),
      '--grid',
      'eps=0,0.05',
      '--grid',
      'k=20,30',
      '--set',
      'maxSteps=150',
      '--json',
      '--db',
      db,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0]!) as { experiment_id: number; run_ids: number[]; statuses: string[] };
    expect(Object.keys(out)).toEqual(['experiment_id', 'run_ids', 'statuses']);
    expect(out.run_ids).toHaveLength(4);
    expect(out.statuses).toEqual(['finished', 'finished', 'finished', 'finished']);
    experimentId = out.experiment_id;
    runIds = out.run_ids;
  });

  it('exports the grouped table as LaTeX to a file and as Markdown / CSV to stdout', async () => {
    const tex = path.join(dir, 'out', 'table.tex');
    const metric = 'error_mean/none/0';
    const r = await puma(['export', '--experiment', String(experimentId), '--group-by', 'eps', '--metrics', metric, '--out', tex, '--db', db]);
    expect(r.code).toBe(0);
    const latex = fs.readFileSync(tex, 'utf8');
    expect(latex).toContain('\\toprule');
    expect(latex).toContain('\\bottomrule');
    // Two groups (eps 0 and 0.05), each "mean_{± std}", one of them bold (the lower error).
    const rows = latex.split('\n').filter((l) => /^0(\.05)? &/.test(l));
    expect(rows).toHaveLength(2);
    expect(rows.filter((l) => l.includes('\\mathbf')).length).toBe(1);
    expect(rows.every((l) => /_\{\\pm \d+\.\d\d\}/.test(l))).toBe(true);

    const md = await puma(['export', '--runs', runIds.join(','), '--group-by', 'eps,k', '--metrics', metric, '--format', 'md', '--db', db]);
    expect(md.code).toBe(0);
    expect(md.stdout.split('\n').filter((l) => l.startsWith('|'))).toHaveLength(2 + 4);

    const csv = await puma(['export', '--experiment', String(experimentId), '--group-by', 'k', '--metrics', metric, '--format', 'csv', '--db', db]);
    // Headers in words (a label with a comma is quoted), n after the group keys.
    const label = 'Error arccos(R)/π · none, r = 0';
    expect(csv.stdout.split('\r\n')[0]).toBe(`k,n,"${label}","${label} std","${label} n"`);
    expect(csv.stdout.split('\r\n')[1]).toMatch(/^20,2,[\d.e-]+,[\d.e-]+,2$/);

    const raw = await puma(['export', '--runs', String(runIds[0]), '--raw', '--format', 'json', '--db', db]);
    const points = JSON.parse(raw.stdout) as Array<{ run_id: number; key: string }>;
    expect(points.length).toBeGreaterThan(0);
    expect(points.every((p) => p.run_id === runIds[0])).toBe(true);
  });

  it('fails clearly on bad arguments', async () => {
    const none = await puma(['export', '--group-by', 'eps', '--metrics', 'x', '--db', db]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--runs .* or --experiment/);
    const misspelt = await puma(['export', '--experiment', String(experimentId), '--group-by', 'eps', '--metrics', 'clean_accc', '--db', db]);
    expect(misspelt.code).toBe(2);
    expect(misspelt.stderr).toMatch(/no selected run has the metric 'clean_accc'/);
    expect(misspelt.stdout).toBe('');
    const preset = await puma(['sweep', '--preset', 'no-such-preset', '--json', '--db', db]);
    expect(preset.code).toBe(2);
    expect(preset.stderr).toMatch(/Unknown preset 'no-such-preset'/);
    const bad = await puma(['sweep', '--config', path.join(dir, 'perceptron.json'), '--grid', 'k=1', '--json', '--db', db]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/k: /);
    expect(bad.stdout).toBe('');
  });
});
