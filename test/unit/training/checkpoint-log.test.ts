/**
 * Checkpoint records travel through the job protocol: the job posts {type: 'checkpoint'}, the
 * runner (the main process, the log's only writer) stores the row and the epoch's metrics in one
 * transaction and emits the metrics live.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JobContext } from '../../../src-main/jobs/context';
import type { FromJob } from '../../../src-main/jobs/protocol';
import { JobRunner } from '../../../src-main/jobs/runner';
import { openDatabase } from '../../../src-main/store/db';
import { RunsRepo } from '../../../src-main/store/repos/runs';
import { tempDir } from '../../helpers/tmp';
import { fakeLauncher } from '../experiments/fake-launcher';

const tmp = tempDir('puma-ckpt-log-');
afterAll(() => tmp.cleanup());

describe('checkpoint records through the job protocol', () => {
  it('JobContext.checkpoint posts one checkpoint message with the points', () => {
    const sent: FromJob[] = [];
    const ctx = new JobContext(7, 'db', 'data', (m) => sent.push(m));
    ctx.checkpoint({ globalStep: 32, epoch: 2, batchInEpoch: 0, path: '/runs/7/checkpoints/a' }, [{ key: 'train/loss', step: 2, value: 1.5 }]);
    ctx.checkpoint({ globalStep: 40, epoch: 2, batchInEpoch: 8, path: '/runs/7/checkpoints/b' });
    expect(sent).toEqual([
      {
        type: 'checkpoint',
        checkpoint: { globalStep: 32, epoch: 2, batchInEpoch: 0, path: '/runs/7/checkpoints/a' },
        points: [{ key: 'train/loss', step: 2, value: 1.5 }],
      },
      { type: 'checkpoint', checkpoint: { globalStep: 40, epoch: 2, batchInEpoch: 8, path: '/runs/7/checkpoints/b' }, points: [] },
    ]);
  });

  it('the runner logs the row and the metrics, emits the metrics, and a bad record writes neither', () => {
    const db = openDatabase(path.join(tmp.dir, 'log.db'));
    try {
      const repo = new RunsRepo(db);
      const { launcher, jobs } = fakeLauncher();
      const events: Array<{ name: string; payload: unknown }> = [];
      const runner = new JobRunner(repo, launcher, (name, payload) => void events.push({ name, payload }), { dbPath: 'x', dataDir: tmp.dir });
      const runId = repo.create({ kind: 'train', config: {}, appVersion: 'test' });
      runner.pump();
      const job = jobs[0]!;
      expect(job.runId).toBe(runId);

      const points = [
        { key: 'train/loss', step: 1, value: 0.9 },
        { key: 'test/clean_acc', step: 1, value: 0.6 },
      ];
      job.emit({ type: 'checkpoint', checkpoint: { globalStep: 16, epoch: 1, batchInEpoch: 0, path: '/ck/16' }, points });
      job.emit({ type: 'checkpoint', checkpoint: { globalStep: 21, epoch: 1, batchInEpoch: 5, path: '/ck/21' }, points: [] });
      expect(repo.checkpoints(runId).map((c) => [c.globalStep, c.epoch, c.batchInEpoch, c.path])).toEqual([
        [16, 1, 0, '/ck/16'],
        [21, 1, 5, '/ck/21'],
      ]);
      expect(repo.metrics(runId, ['test/clean_acc'])[0]!.points).toEqual([{ step: 1, value: 0.6 }]);
      expect(events.filter((e) => e.name === 'run.metrics')).toEqual([{ name: 'run.metrics', payload: { runId, points } }]);

      // One transaction: a row that cannot be stored (NOT NULL path) leaves its metrics out too.
      const bad = { globalStep: 30, epoch: 2, batchInEpoch: 0, path: null as unknown as string };
      expect(() => repo.recordCheckpoint(runId, bad, [{ key: 'train/loss', step: 2, value: 0.5 }])).toThrow();
      expect(repo.metrics(runId, ['train/loss'])[0]!.points).toEqual([{ step: 1, value: 0.9 }]);
      expect(repo.checkpoints(runId)).toHaveLength(2);

      job.emit({ type: 'done' });
      job.exit(0);
      expect(repo.get(runId).status).toBe('finished');
    } finally {
      db.close();
    }
  });
});
