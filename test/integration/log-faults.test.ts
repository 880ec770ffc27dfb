/**
 * Faults of the experiment log itself: a damaged log is refused at open, named, and left byte
 * for byte as it was; a read-only log is shown read-only and refuses writes with a message that
 * names it; a full log (SQLite's page limit, and a real full disk where a tmpfs can be mounted)
 * does not take the app down, and the run records the cause or, when even that cannot be
 * written, reports it from memory.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventMessage } from '../../src-shared/api/contract';
import type { RunSummary } from '../../src-shared/domain/runs';
import { PumaApp } from '../../src-main/services/app';
import { logInfo, openDatabase } from '../../src-main/store/db';
import { RunsRepo } from '../../src-main/store/repos/runs';
import { startHttpServer } from '../../src-main/transport/http';
import { fakeLauncher, finishJob } from '../unit/experiments/fake-launcher';
import { testRandom } from '../helpers/seed';
import { tempDir } from '../helpers/tmp';
import { canMountTmpfs, mountTmpfs } from '../helpers/tmpfs';

const config = { k: 20, alphas: [1], ratios: [0], strategies: ['none'], seeds: 1, maxSteps: 50 };
const STACK = /\n\s+at /;
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const sha = (file: string): string => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

let cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.reverse()) c();
  cleanups = [];
});
function tmp(): string {
  const t = tempDir('puma-log-faults-');
  cleanups.push(t.cleanup);
  return t.dir;
}

/** A log with a few runs and metrics, closed. */
function writeLog(file: string): void {
  const db = openDatabase(file);
  const repo = new RunsRepo(db);
  for (let i = 0; i < 12; i++) {
    const id = repo.create({ kind: 'perceptron', name: `kept ${i}`, config: { k: i }, appVersion: 'test' });
    repo.addMetrics(
      id,
      Array.from({ length: 150 }, (_, s) => ({ key: 'loss', step: s, value: 1 / (s + 1) })),
    );
    repo.finish(id, 'finished');
  }
  db.close();
}

describe('a damaged log', () => {
  it('is refused at open with its name, and its bytes stay as they were', () => {
    const file = path.join(tmp(), 'log.db');
    writeLog(file);
    const bytes = fs.readFileSync(file);
    expect(bytes.length).toBeGreaterThan(4096 * 8);
    // Garbage over every page but the header page.
    const random = testRandom();
    random.bytes(bytes.length - 4096).copy(bytes, 4096);
    fs.writeFileSync(file, bytes);
    const before = sha(file);
    expect(() => openDatabase(file), random.label).toThrow(new RegExp(`^experiment log ${esc(file)}: is damaged.* — the log is damaged; restore a backup`));
    expect(() => new PumaApp({ dbPath: file, launcher: fakeLauncher().launcher, mode: 'browser' })).toThrow(/is damaged/);
    expect(sha(file)).toBe(before);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['log.db']);
  });

  it('is refused when it is not an SQLite file at all', () => {
    const file = path.join(tmp(), 'log.db');
    const random = testRandom();
    fs.writeFileSync(file, random.bytes(8192));
    const before = sha(file);
    expect(() => openDatabase(file), random.label).toThrow(new RegExp(`experiment log ${esc(file)}: is damaged or not an SQLite database`));
    expect(sha(file)).toBe(before);
  });
});

describe('a read-only log', () => {
  it('opened read-only reads as before and refuses writes naming the log', () => {
    const file = path.join(tmp(), 'log.db');
    writeLog(file);
    const db = openDatabase(file, { readonly: true });
    cleanups.unshift(() => db.close());
    expect(logInfo(db)).toEqual({ file, readOnly: 'opened read-only' });
    const repo = new RunsRepo(db);
    expect(repo.list()).toHaveLength(12);
    expect(repo.metrics(1, ['loss'])[0]!.points).toHaveLength(150);
    expect(repo.readOnly).toBe('opened read-only');
    expect(() => repo.create({ kind: 'perceptron', config: {}, appVersion: 'test' })).toThrow(
      new RegExp(`^experiment log ${esc(file)}: attempt to write a readonly database — the log is open read-only; make the file and its folder writable`),
    );
  });

  it.skipIf(!canMountTmpfs)('in a read-only folder (a real read-only mount) is shown, says so, and starts nothing', async () => {
    const m = mountTmpfs('4m')!;
    cleanups.push(() => m.unmount());
    const file = path.join(m.dir, 'log.db');
    writeLog(file);
    m.readOnly();
    const fake = fakeLauncher();
    const app = new PumaApp({ dbPath: file, launcher: fake.launcher, mode: 'browser' });
    expect(app.readOnly).toMatch(/is not writable: EROFS/);
    const info = (await app.dispatch('app.info', {})) as { readOnly: string | null };
    expect(info.readOnly).toMatch(/EROFS/);
    const runs = (await app.dispatch('runs.list', {})) as RunSummary[];
    expect(runs.map((r) => r.name)).toContain('kept 3');
    expect(() => app.startRun('perceptron', config, 'refused')).toThrow(new RegExp(`experiment log ${esc(file)}: attempt to write a readonly database`));
    expect(fake.jobs).toHaveLength(0);
    app.close();
    expect(fs.readdirSync(m.dir)).toEqual(['log.db']);
  });
});

describe('a full log', () => {
  function openApp(dbPath = path.join(tmp(), 'log.db')) {
    const fake = fakeLauncher();
    const app = new PumaApp({ dbPath, launcher: fake.launcher, mode: 'browser' });
    const events: EventMessage[] = [];
    app.onEvent((e) => events.push(e));
    cleanups.push(() => app.close());
    return { app, fake, events, dbPath };
  }

  it('stops the job whose report does not fit and records the cause, naming the log (page limit)', async () => {
    const { app, fake, dbPath } = openApp();
    const id = app.startRun('perceptron', config, 'too big');
    app.db.pragma(`max_page_count = ${app.db.pragma('page_count', { simple: true }) as number}`);
    fake.jobs[0]!.emit({ type: 'result', result: { blob: 'x'.repeat(200_000) }, final: true });
    expect(await app.runner.waitFor(id)).toBe('failed');
    const error = app.runs.get(id).error!;
    expect(error).toMatch(new RegExp(`experiment log ${esc(dbPath)}: database or disk is full — free some disk space`));
    expect(error).not.toMatch(STACK);
    // It is in the log, not only in memory.
    expect(app.runs.unrecorded.size).toBe(0);
    const other = openDatabase(dbPath, { readonly: true, check: false });
    expect((other.prepare('SELECT status, error FROM runs WHERE id = ?').get(id) as { status: string; error: string }).error).toBe(error);
    other.close();
    // The app keeps answering, and runs again once there is room.
    expect(((await app.dispatch('runs.list', {})) as RunSummary[]).find((r) => r.id === id)?.status).toBe('failed');
    app.db.pragma('max_page_count = 1073741823');
    const next = app.startRun('perceptron', config, 'after');
    finishJob(fake.jobs[1]!);
    expect(await app.runner.waitFor(next)).toBe('finished');
  });

  it('records the failure itself when the run end does not fit (a shorter write of the same row)', async () => {
    const { app, fake, events } = openApp();
    const id = app.startRun('perceptron', config, 'long error');
    app.db.pragma(`max_page_count = ${app.db.pragma('page_count', { simple: true }) as number}`);
    fake.jobs[0]!.emit({ type: 'error', message: 'e'.repeat(50_000) });
    fake.jobs[0]!.exit(0);
    expect(await app.runner.waitFor(id)).toBe('failed');
    const run = app.runs.get(id);
    expect(run.error).toMatch(/^The experiment log could not record the end of this run: experiment log .*: database or disk is full/);
    expect(app.runs.unrecorded.size).toBe(0);
    const ended = events.filter((e) => e.name === 'run.status' && (e.payload as { runId: number }).runId === id).at(-1)!;
    expect(ended.payload).toMatchObject({ status: 'failed', error: run.error });
  });

  it('answers a write the full log cannot take over HTTP with the named fault, and keeps serving', async () => {
    const { app } = openApp();
    const id = app.startRun('perceptron', config, 'notes');
    const server = await startHttpServer({ app, staticDir: tmp() });
    cleanups.unshift(() => void server.close());
    const post = (op: string, body: unknown) =>
      new Promise<{ status: number; body: { error?: string } }>((resolve, reject) => {
        const data = JSON.stringify(body);
        const req = http.request(
          {
            host: '127.0.0.1',
            port: server.port,
            method: 'POST',
            path: `/api/${op}`,
            headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
          },
          (res) => {
            let text = '';
            res.on('data', (c) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { error?: string } }));
          },
        );
        req.on('error', reject);
        req.end(data);
      });
    app.db.pragma(`max_page_count = ${app.db.pragma('page_count', { simple: true }) as number}`);
    const r = await post('runs.update', { id, notes: 'n'.repeat(20_000) });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.body.error).toMatch(/^experiment log .*log\.db: database or disk is full — free some disk space/);
    expect(r.body.error).not.toMatch(STACK);
    expect((await post('app.info', {})).status).toBe(200);
  });

  it.skipIf(!canMountTmpfs)('on a real full disk: the app keeps serving, the end is reported from memory, runs start again once there is room', async () => {
    const m = mountTmpfs('3m')!;
    cleanups.push(() => m.unmount());
    const { app, fake, events, dbPath } = openApp(path.join(m.dir, 'log.db'));
    const id = app.startRun('perceptron', config, 'disk full');
    const waiting = app.startRun('perceptron', config, 'queued before the disk filled'); // concurrency 1: it waits
    expect(fake.started()).toEqual([id]);
    const filler = path.join(m.dir, 'filler');
    fillDisk(filler);
    finishJob(fake.jobs[0]!);
    expect(await app.runner.waitFor(id)).toBe('failed');
    const run = app.runs.get(id);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(new RegExp(`could not record the end of this run: experiment log ${esc(dbPath)}: database or disk is full`));
    expect(app.runs.unrecorded.has(id)).toBe(true);
    expect(events.some((e) => e.name === 'run.status' && (e.payload as { error?: string }).error === run.error)).toBe(true);
    expect(((await app.dispatch('runs.list', {})) as RunSummary[]).find((r) => r.id === id)?.status).toBe('failed');
    // The queued run could not be claimed: it waits, and app.info says why.
    expect(fake.started()).toEqual([id]);
    expect(app.runs.get(waiting).status).toBe('queued');
    expect(((await app.dispatch('app.info', {})) as { logFault: string | null }).logFault).toMatch(/database or disk is full/);
    // A new run cannot be logged while the disk is full: a named error, nothing crashes.
    expect(() => app.startRun('perceptron', config, 'no room')).toThrow(/database or disk is full/);
    fs.rmSync(filler);
    const next = app.startRun('perceptron', config, 'room again');
    expect(fake.started()).toEqual([id, waiting]);
    expect(((await app.dispatch('app.info', {})) as { logFault: string | null }).logFault).toBeNull();
    finishJob(fake.jobs[1]!);
    finishJob(fake.jobs[2]!);
    expect(await app.runner.waitFor(waiting)).toBe('finished');
    expect(await app.runner.waitFor(next)).toBe('finished');
    app.close();
    // The next start marks the run whose end was lost as interrupted (resumable).
    const again = new PumaApp({ dbPath, launcher: fakeLauncher().launcher, mode: 'browser' });
    expect(again.runs.get(id).status).toBe('interrupted');
    again.close();
  });
});

describe.skipIf(!canMountTmpfs)('puma serve on a disk that fills during a run', () => {
  it('keeps serving and reports the run failed with the cause', async () => {
    const m = mountTmpfs('3m')!;
    cleanups.push(() => m.unmount());
    const dbPath = path.join(m.dir, 'log.db');
    const child = spawn(process.execPath, [path.resolve('bin/puma.mjs'), 'serve', '--db', dbPath], {
      env: { ...process.env, PUMA_HOME: m.dir, PUMA_DEBUG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(() => child.kill('SIGKILL')); // before the unmount (cleanups run in reverse)
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    const url = await new Promise<URL>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`puma serve did not start: ${out}`)), 60_000);
      child.stdout.on('data', () => {
        const line = /Open: (\S+)/.exec(out);
        if (line) (clearTimeout(t), resolve(new URL(line[1]!)));
      });
    });
    const api = async (op: string, body: unknown) => {
      const r = await fetch(new URL(`/api/${op}`, url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${url.searchParams.get('token')}` },
        body: JSON.stringify(body),
      });
      return { status: r.status, body: (await r.json()) as { result?: unknown; error?: string } };
    };
    const started = await api('perceptron.start', {
      config: { k: 200, alphas: [1, 2, 4, 8], ratios: [0, 0.5, 0.8], strategies: ['none', 'pe', 'pd'], seeds: 10, maxSteps: 3000 },
    });
    expect(started.status).toBe(200);
    fillDisk(path.join(m.dir, 'filler'));
    let run: RunSummary | undefined;
    for (let i = 0; i < 600 && run?.status !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      run = ((await api('runs.list', {})).body.result as RunSummary[])[0];
    }
    expect(run?.status).toBe('failed');
    expect(run?.error).toMatch(/database or disk is full/);
    expect(run?.error).not.toMatch(STACK);
    expect((await api('app.info', {})).status).toBe(200);
    expect(child.exitCode).toBeNull();
  });
});

/** Writes until the file system has no room left. */
function fillDisk(file: string): void {
  const fd = fs.openSync(file, 'w');
  try {
    for (const size of [1 << 16, 4096, 512, 1]) {
      const chunk = Buffer.alloc(size, 1);
      for (;;) {
        try {
          fs.writeSync(fd, chunk);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw e;
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}
