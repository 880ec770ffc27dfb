import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, schemaVersion } from '../../src-main/store/db';
import { migrations } from '../../src-main/store/migrations';
import { processAlive, RunsRepo } from '../../src-main/store/repos/runs';
import { forkJobLauncher } from '../../src-main/jobs/fork-launcher';
import { PumaApp } from '../../src-main/services/app';
import { tempDir, waitUntil } from '../helpers/tmp';

const newest = Math.max(...migrations.map((m) => m.version));
let cleanups: Array<() => void> = [];
afterEach(() => {
  cleanups.forEach((c) => c());
  cleanups = [];
});
function tmp(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

describe('experiment log', () => {
  it('migrates an empty file to the newest schema, in WAL mode', () => {
    const file = path.join(tmp(), 'log.db');
    const db = openDatabase(file);
    expect(schemaVersion(db)).toBe(newest);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((r) => r.name);
    expect(tables).toEqual(expect.arrayContaining(['experiments', 'runs', 'metrics', 'latest_metrics']));
    const idx = db.prepare("SELECT sql FROM sqlite_master WHERE name = 'metrics_run_key_step'").get() as { sql: string };
    expect(idx.sql).toMatch(/run_id, key, step/);
    db.close();
    // Opening again applies nothing twice.
    const again = openDatabase(file);
    expect(schemaVersion(again)).toBe(newest);
    again.close();
  });

  it('refuses a log written by a newer app instead of corrupting it', () => {
    const file = path.join(tmp(), 'log.db');
    const db = openDatabase(file);
    db.pragma(`user_version = ${newest + 5}`);
    db.close();
    expect(() => openDatabase(file)).toThrow(/newer than this app knows/);
  });

  it('keeps runs, metrics and latest metrics across a reopen', () => {
    const file = path.join(tmp(), 'log.db');
    const db = openDatabase(file);
    const repo = new RunsRepo(db);
    const id = repo.create({ kind: 'perceptron', name: 'kept', config: { k: 7 }, appVersion: 'test' });
    repo.addMetrics(id, [
      { key: 'loss', step: 0, value: 2 },
      { key: 'loss', step: 1, value: 1.5 },
      { key: 'acc', step: 1, value: 0.4 },
    ]);
    repo.addMetrics(id, [{ key: 'loss', step: 0, value: 9 }]); // an older step does not replace the latest
    repo.finish(id, 'finished');
    db.close();

    const db2 = openDatabase(file);
    const repo2 = new RunsRepo(db2);
    const run = repo2.get(id);
    expect(run.name).toBe('kept');
    expect(run.config).toEqual({ k: 7 });
    expect(run.status).toBe('finished');
    expect(run.latest).toEqual({ loss: 1.5, acc: 0.4 });
    const series = repo2.metrics(id, ['loss']);
    expect(series[0].points.map((p) => p.value)).toEqual([2, 9, 1.5]);
    db2.close();
  });

  it('down-samples long series in SQL and keeps the last point', () => {
    const db = openDatabase(path.join(tmp(), 'log.db'));
    const repo = new RunsRepo(db);
    const id = repo.create({ kind: 'train', config: {}, appVersion: 'test' });
    repo.addMetrics(
      id,
      Array.from({ length: 1000 }, (_, i) => ({ key: 'acc', step: i, value: i / 1000 })),
    );
    const [s] = repo.metrics(id, ['acc'], 100);
    expect(s.points.length).toBeLessThanOrEqual(101);
    expect(s.points.length).toBeGreaterThanOrEqual(90);
    expect(s.points.at(-1)!.step).toBe(999);
    db.close();
  });

  it('leaves a run whose job still lives to the app instance that owns it, and hands a queued run to one instance only', () => {
    const db = openDatabase(path.join(tmp(), 'log.db'));
    const repo = new RunsRepo(db);
    const owned = repo.create({ kind: 'perceptron', config: {}, appVersion: 'test' });
    const lost = repo.create({ kind: 'perceptron', config: {}, appVersion: 'test' });
    expect(repo.claimQueued(owned)).toBe(true);
    expect(repo.claimQueued(owned)).toBe(false); // a second instance cannot start it again
    repo.markRunning(owned, process.pid); // alive: this test's own process
    expect(repo.claimQueued(lost)).toBe(true);
    repo.markRunning(lost, 2 ** 22 + 12345); // above Linux's pid_max: no such process
    expect(repo.markOrphansInterrupted()).toBe(1);
    expect(repo.get(owned).status).toBe('running');
    expect(repo.get(lost).status).toBe('interrupted');
    db.close();
  });

  it('marks a run whose worker was killed as interrupted, not running, at the next start', async () => {
    const file = path.join(tmp(), 'log.db');
    // A real `puma perceptron` process with a study long enough to be killed mid-way.
    const cli = spawn(
      process.execPath,
      [
        path.resolve('bin/puma.mjs'),
        'perceptron',
        '--k',
        '50',
        '--alphas',
        '1,2,4,8,16',
        '--seeds',
        '100',
        '--max-steps',
        '3000',
        '--tol',
        '1e-12',
        '--json',
        '--db',
        file,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    cli.stderr.on('data', (d) => (stderr += d));
    const probe = openDatabase(file);
    const probeRepo = new RunsRepo(probe);
    const runId = await waitUntil(
      () => {
        try {
          return probeRepo.list().find((r) => r.status === 'running' && r.progress > 0)?.id;
        } catch {
          return undefined;
        }
      },
      90_000,
      `a running run (stderr: ${stderr})`,
    );
    const pid = (probe.prepare('SELECT pid FROM runs WHERE id = ?').get(runId) as { pid: number }).pid;
    expect(pid).toBeGreaterThan(0);
    // Kill the app (CLI) and its job hard, as a crash or a power cut would.
    cli.kill('SIGKILL');
    process.kill(pid, 'SIGKILL');
    await new Promise((r) => cli.on('exit', r));
    // SIGKILL is delivered asynchronously: wait until the job is really gone.
    await waitUntil(() => !processAlive(pid), 10_000, 'the killed job to end');
    expect(probeRepo.get(runId).status).toBe('running'); // nobody was left to record the end
    probe.close();

    const app = new PumaApp({ dbPath: file, launcher: forkJobLauncher(), mode: 'browser' });
    const run = app.runs.get(runId);
    expect(run.status).toBe('interrupted');
    expect(run.error).toMatch(/stopped without finishing/);
    app.close();
  });

  it('records a job killed while the app runs as interrupted, and a cancelled one as cancelled', async () => {
    const file = path.join(tmp(), 'log.db');
    const app = new PumaApp({ dbPath: file, launcher: forkJobLauncher(), mode: 'browser' });
    try {
      // Many short tasks: progress comes at once and the whole study would take minutes.
      const long = { k: 50, alphas: [1, 2, 4, 8, 16], seeds: 100, maxSteps: 3000, tol: 1e-12 };
      const a = app.startRun('perceptron', long, 'killed');
      await waitUntil(() => app.runs.get(a).progress > 0, 90_000, 'progress');
      const pid = (app.db.prepare('SELECT pid FROM runs WHERE id = ?').get(a) as { pid: number }).pid;
      process.kill(pid, 'SIGKILL');
      expect(await app.runner.waitFor(a)).toBe('interrupted');
      expect(app.runs.get(a).error).toMatch(/SIGKILL/);

      const b = app.startRun('perceptron', long, 'cancelled');
      await waitUntil(() => app.runs.get(b).status === 'running', 30_000, 'running');
      app.runner.cancel(b);
      expect(await app.runner.waitFor(b)).toBe('cancelled');
    } finally {
      app.close();
    }
  });
});
