/**
 * One error format for users: `puma: <message>` naming the file, flag or run and what to do, exit
 * code 2 for bad input (a missing log folder, a damaged log, a bad resume id, a bad model file),
 * no stack trace unless --debug. Run errors recorded from a failing job carry no stack either
 * (it goes to the run's job.log).
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { forkJobLauncher } from '../../src-main/jobs/fork-launcher';
import { PumaApp } from '../../src-main/services/app';
import { openDatabase } from '../../src-main/store/db';
import { tempDir } from '../helpers/tmp';

const STACK = /\n\s+at /;
let cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.reverse()) c();
  cleanups = [];
});
function tmp(): string {
  const t = tempDir('puma-cli-errors-');
  cleanups.push(t.cleanup);
  return t.dir;
}

function puma(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const { PUMA_DB: _db, PUMA_DEBUG: _debug, ...env } = process.env;
  const r = spawnSync(process.execPath, [path.resolve('bin/puma.mjs'), ...args], { encoding: 'utf8', env: { ...env, PUMA_HOME: tmp() } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('puma errors', () => {
  it('refuses a --db in a folder that does not exist, creating nothing', () => {
    const dir = tmp();
    const db = path.join(dir, 'no-such-folder', 'log.db');
    const r = puma('runs', 'list', '--json', '--db', db);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(
      `puma: --db ${db}: the folder ${path.dirname(db)} does not exist; create it first, or pick another place for the experiment log`,
    );
    expect(r.stdout).toBe('');
    expect(fs.existsSync(path.dirname(db))).toBe(false);
  });

  it('refuses a damaged log naming it, exit 2, and leaves it as it was', () => {
    const db = path.join(tmp(), 'log.db');
    openDatabase(db).close();
    const bytes = fs.readFileSync(db);
    crypto.randomFillSync(bytes, 100, bytes.length - 100); // the header's magic string stays
    fs.writeFileSync(db, bytes);
    const before = crypto.createHash('sha256').update(bytes).digest('hex');
    const r = puma('runs', 'list', '--json', '--db', db);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^puma: experiment log ${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: is damaged`));
    expect(r.stderr).toMatch(/restore a backup, or move it aside/);
    expect(r.stderr).not.toMatch(STACK);
    expect(crypto.createHash('sha256').update(fs.readFileSync(db)).digest('hex')).toBe(before);
  });

  it('refuses resuming a run that does not exist, or a run id that is not one, exit 2 without a stack', () => {
    const db = path.join(tmp(), 'log.db');
    const missing = puma('train', '--resume', '42', '--json', '--db', db);
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim()).toMatch(
      /^puma: Run 42 does not exist in the experiment log .*log\.db; `puma runs list` \(or the Runs page\) shows its runs\.$/,
    );
    expect(missing.stdout).toBe('');
    const notAnId = puma('train', '--resume', 'abc', '--db', db);
    expect(notAnId.status).toBe(2);
    expect(notAnId.stderr.trim()).toBe("puma: --resume expects a run id, got 'abc'");
  });

  it('refuses a bad model file naming it, exit 2; --debug adds the stack', () => {
    const dir = tmp();
    const model = path.join(dir, 'model.json');
    fs.writeFileSync(model, '{"modelTopology": ');
    const db = path.join(dir, 'log.db');
    const r = puma('models', 'import', model, '--name', 'broken', '--json', '--db', db);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^puma: .*model\.json/);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stdout).toBe('');
    const debug = puma('models', 'import', model, '--name', 'broken', '--json', '--db', db, '--debug');
    expect(debug.status).toBe(2);
    expect(debug.stderr).toMatch(/^puma: .*model\.json/);
    expect(debug.stderr).toMatch(STACK);
  });

  it('records a failing job’s error without its stack, which goes to the run’s job.log', async () => {
    const dir = tmp();
    const app = new PumaApp({ dbPath: path.join(dir, 'log.db'), launcher: forkJobLauncher(), mode: 'browser' });
    cleanups.push(() => app.close());
    // A margins job for a dataset and model that do not exist fails inside the job process.
    const id = app.startRun('margins', { marginSetId: 999 }, 'fails');
    expect(await app.runner.waitFor(id)).toBe('failed');
    const error = app.runs.get(id).error!;
    expect(error.length).toBeGreaterThan(0);
    expect(error).not.toMatch(STACK);
    const log = fs.readFileSync(path.join(app.dataDir, 'runs', String(id), 'job.log'), 'utf8');
    expect(log).toContain(error.split('\n')[0]!);
    expect(log).toMatch(STACK);
  });
});
