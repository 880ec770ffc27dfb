/**
 * The queue: runs wait and start one at a time in queue order, can be reordered, cancelled and
 * retried, the concurrency setting is saved, and queued runs and their order survive a restart.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PumaApp } from '../../../src-main/services/app';
import { tempDir } from '../../helpers/tmp';
import { fakeLauncher, finishJob } from './fake-launcher';

const perceptron = { k: 20, alphas: [1], ratios: [0], strategies: ['none'], seeds: 1, maxSteps: 50 };
let cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.reverse()) c();
  cleanups = [];
});

function openApp(dbPath?: string, concurrency?: number) {
  const t = tempDir('puma-queue-');
  const fake = fakeLauncher();
  const app = new PumaApp({ dbPath: dbPath ?? path.join(t.dir, 'log.db'), launcher: fake.launcher, mode: 'browser', concurrency });
  cleanups.push(() => app.close(), t.cleanup);
  return { app, fake, service: app.experiments, dir: t.dir };
}

describe('queue', () => {
  it('runs one at a time in queue order and follows a reorder', async () => {
    const { app, fake, service } = openApp();
    const { runIds } = await service.create({ kind: 'perceptron', base: perceptron, grid: { eps: [0, 0.1, 0.2, 0.3] }, name: 'q' });
    expect(runIds).toHaveLength(4);
    expect(fake.started()).toEqual([runIds[0]]);
    expect(service.queue().order).toEqual(runIds.slice(1));
    // Put the last queued run first, then move the (new) last one up by one.
    service.reorder([runIds[3]!, runIds[1]!, runIds[2]!]);
    expect(service.queue().order).toEqual([runIds[3], runIds[1], runIds[2]]);
    service.move(runIds[2]!, -1);
    expect(service.queue().order).toEqual([runIds[3], runIds[2], runIds[1]]);
    finishJob(fake.jobs[0]!);
    finishJob(fake.jobs[1]!);
    finishJob(fake.jobs[2]!);
    expect(fake.started()).toEqual([runIds[0], runIds[3], runIds[2], runIds[1]]);
    finishJob(fake.jobs[3]!);
    expect(await Promise.all(runIds.map((id) => app.runner.waitFor(id)))).toEqual(['finished', 'finished', 'finished', 'finished']);
  });

  it('rejects reordering runs that are not queued', async () => {
    const { service } = openApp();
    const { runIds } = await service.create({ kind: 'perceptron', base: perceptron, grid: { eps: [0, 0.1] }, name: 'q' });
    expect(() => service.reorder([runIds[0]!])).toThrow(/not queued/);
    expect(() => service.reorder([runIds[1]!, runIds[1]!])).toThrow(/twice/);
  });

  it('cancels a queued run and retries it at the end of the queue with its metrics cleared', async () => {
    const { app, fake, service } = openApp();
    const { runIds } = await service.create({ kind: 'perceptron', base: perceptron, grid: { eps: [0, 0.1, 0.2] }, name: 'q' });
    expect(app.runner.cancel(runIds[1]!)).toBe('cancelled');
    expect(service.queue().order).toEqual([runIds[2]]);
    fake.jobs[0]!.emit({ type: 'metrics', points: [{ key: 'acc', step: 1, value: 0.5 }] });
    fake.jobs[0]!.emit({ type: 'error', message: 'boom' });
    fake.jobs[0]!.exit(1);
    expect(app.runs.get(runIds[0]!).status).toBe('failed');
    expect(fake.started()).toEqual([runIds[0], runIds[2]]);

    // Retry the failed first run and the cancelled one: both queue behind what is queued.
    service.retry(runIds[0]!);
    service.retry(runIds[1]!);
    const retried = app.runs.get(runIds[0]!);
    expect(retried.status).toBe('queued');
    expect(retried.error).toBeNull();
    expect(retried.latest).toEqual({});
    expect(app.runs.metrics(runIds[0]!)).toEqual([]);
    expect(service.queue().order).toEqual([runIds[0], runIds[1]]);
    expect(() => service.retry(runIds[2]!)).toThrow(/still running/);
    finishJob(fake.jobs[1]!);
    expect(fake.started()).toEqual([runIds[0], runIds[2], runIds[0]]);
  });

  it('saves the concurrency setting and starts more runs when it is raised', async () => {
    const t = tempDir('puma-queue-');
    cleanups.push(t.cleanup);
    const dbPath = path.join(t.dir, 'log.db');
    const first = openApp(dbPath);
    const { runIds } = await first.service.create({ kind: 'perceptron', base: perceptron, grid: { eps: [0, 0.1, 0.2, 0.3] }, name: 'q' });
    expect(first.fake.started()).toHaveLength(1);
    expect(first.service.setConcurrency(2).concurrency).toBe(2);
    expect(first.fake.started()).toEqual([runIds[0], runIds[1]]);
    expect(() => first.service.setConcurrency(0)).toThrow();
    first.service.reorder([runIds[3]!, runIds[2]!]);
    first.app.close();

    // After a restart: the running runs were interrupted, the queue kept its order, the setting stuck.
    const second = openApp(dbPath);
    expect(second.app.runs.get(runIds[0]!).status).toBe('interrupted');
    expect(second.service.queue()).toMatchObject({ order: [runIds[3], runIds[2]], concurrency: 2 });
    second.app.start();
    expect(second.fake.started()).toEqual([runIds[3], runIds[2]]);
  });
});
