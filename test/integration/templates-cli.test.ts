/**
 * `puma templates list` and the argument checks of `puma sweep --template`, as a user runs them.
 * Nothing here queues a run: every sweep call is refused before the experiment log is opened.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp';

let dir: string;
let cleanup: () => void;

function puma(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('node', ['bin/puma.mjs', ...args], { cwd: path.resolve('.'), timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(() => {
  ({ dir, cleanup } = tempDir('puma-cli-templates-'));
});
afterAll(() => cleanup());

describe('puma templates', () => {
  it('list --json prints one object: every template with name, title, run count (3 seeds) and description', async () => {
    const r = await puma(['templates', 'list', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0]!) as { templates: Array<Record<string, unknown>> };
    expect(out.templates.map((t) => [t.name, t.runs])).toEqual([
      ['strategies', 6 * 3],
      ['prune-ratios', 2 * 4 * 3],
      ['eq2-eps', 3 * 3],
      ['gap', 3 * 3],
      ['margin-estimators', 2 * 3],
      ['online', 2 * 3],
    ]);
    for (const t of out.templates) {
      expect(Object.keys(t).sort()).toEqual(['description', 'name', 'runs', 'title']);
      expect(typeof t.title === 'string' && typeof t.description === 'string').toBe(true);
    }
  });

  it('an unknown template exits 2 naming the known ones, and creates no log', async () => {
    const db = path.join(dir, 'log.db');
    const r = await puma(['sweep', '--template', 'tables', '--json', '--db', db]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/Unknown template 'tables'; known templates: strategies, prune-ratios, eq2-eps, gap, margin-estimators, online/);
    expect(fs.existsSync(db)).toBe(false);
  });

  it('--template with --grid, a bad --seeds or a --set the schema refuses exits 2', async () => {
    const db = path.join(dir, 'log.db');
    const grid = await puma(['sweep', '--template', 'gap', '--grid', 'seed=0,1', '--db', db]);
    expect([grid.code, grid.stderr]).toEqual([2, expect.stringMatching(/--template sets the grid/)]);
    const seeds = await puma(['sweep', '--template', 'gap', '--seeds', '0', '--db', db]);
    expect([seeds.code, seeds.stderr]).toEqual([2, expect.stringMatching(/seeds must be a whole number/)]);
    const set = await puma(['sweep', '--template', 'gap', '--set', 'eps=3', '--db', db]);
    expect([set.code, set.stderr]).toEqual([2, expect.stringMatching(/eps/)]);
    const sub = await puma(['templates', 'show']);
    expect([sub.code, sub.stderr]).toEqual([2, expect.stringMatching(/puma templates list/)]);
    expect(fs.existsSync(db)).toBe(false);
  });
});
