/**
 * Resuming a stopped train run drops the metric points its stopped attempt logged past the
 * checkpoint the job continues from (batch series by global step, epoch series by epochs done),
 * so the resumed job's points are not counted twice; latest and best values follow.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PumaApp } from '../../../src-main/services/app';
import { runDirFor } from '../../../src-main/services/training/run';
import { tempDir } from '../../helpers/tmp';
import { fakeLauncher } from '../experiments/fake-launcher';

let cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.reverse()) c();
  cleanups = [];
});

const BATCHES = 8; // per epoch in this made-up run

/** A stopped train run whose attempt logged `steps` batches (and the epochs they completed). */
function stoppedRun(steps: number) {
  const t = tempDir('puma-resume-');
  const fake = fakeLauncher();
  const app = new PumaApp({ dbPath: path.join(t.dir, 'log.db'), launcher: fake.launcher, mode: 'browser' });
  cleanups.push(() => app.close(), t.cleanup);
  const id = app.runs.create({ kind: 'train', name: 'stopped', config: { epochs: 4 }, appVersion: 'test' });
  const points = [];
  for (let s = 1; s <= steps; s++) points.push({ key: 'train/batch_loss', step: s, value: 10 - s * 0.1 }, { key: 'train/lr', step: s, value: 0.1 });
  for (let e = 1; e * BATCHES <= steps; e++)
    points.push({ key: 'train/loss', step: e, value: 5 - e }, { key: 'test/clean_acc', step: e, value: 0.5 + e * 0.1 });
  points.push({ key: 'custom/unplaced', step: 99, value: 1 });
  app.runs.addMetrics(id, points);
  app.runs.finish(id, 'interrupted', 'killed');
  return { app, fake, id, runDir: runDirFor(app.dataDir, id) };
}

function writeLatest(runDir: string, state: { globalStep: number; epoch: number; batchInEpoch: number }): void {
  const root = path.join(runDir, 'checkpoints');
  fs.mkdirSync(root, { recursive: true });
  fs.writeFileSync(path.join(root, 'latest.json'), JSON.stringify({ name: `step-${state.globalStep}`, ...state }));
}

const steps = (app: PumaApp, id: number, key: string): number[] =>
  (app.db.prepare('SELECT step FROM metrics WHERE run_id = ? AND key = ? ORDER BY step').all(id, key) as Array<{ step: number }>).map((r) => r.step);

describe('resume drops the stopped attempt’s points past its checkpoint', () => {
  it('keeps batch points up to the checkpoint step and epoch points up to its epoch', () => {
    // Killed at step 21 (inside epoch 3); the last checkpoint is the end of epoch 2 (step 16).
    const { app, fake, id, runDir } = stoppedRun(21);
    writeLatest(runDir, { globalStep: 16, epoch: 2, batchInEpoch: 0 });
    app.training.resume(id);
    expect(fake.started()).toEqual([id]); // re-queued and started
    expect(steps(app, id, 'train/batch_loss')).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(steps(app, id, 'train/lr')).toHaveLength(16);
    expect(steps(app, id, 'test/clean_acc')).toEqual([1, 2]);
    expect(steps(app, id, 'custom/unplaced')).toEqual([99]); // a key of no known axis stays
    // The latest and best values come from what stays.
    const latest = app.db.prepare(`SELECT step, value FROM latest_metrics WHERE run_id = ? AND key = 'train/batch_loss'`).get(id) as {
      step: number;
      value: number;
    };
    expect(latest.step).toBe(16);
    expect(latest.value).toBeCloseTo(10 - 1.6, 6);
    const best = app.db.prepare(`SELECT min_value AS lo FROM best_metrics WHERE run_id = ? AND key = 'train/batch_loss'`).get(id) as { lo: number };
    expect(best.lo).toBeCloseTo(10 - 1.6, 6);

    // The resumed job logs steps 17… again: each step once.
    fake.jobs[0]!.emit({ type: 'metrics', points: [17, 18].map((s) => ({ key: 'train/batch_loss', step: s, value: 1 })) });
    const dup = app.db.prepare(`SELECT key, step, COUNT(*) AS n FROM metrics WHERE run_id = ? GROUP BY key, step HAVING n > 1`).all(id);
    expect(dup).toEqual([]);
  });

  it('continues from a mid-epoch checkpoint (a cancel) at its global step', () => {
    const { app, id, runDir } = stoppedRun(20);
    writeLatest(runDir, { globalStep: 19, epoch: 2, batchInEpoch: 3 });
    app.training.resume(id);
    expect(steps(app, id, 'train/batch_loss').at(-1)).toBe(19);
    expect(steps(app, id, 'train/loss')).toEqual([1, 2]);
  });

  it('drops every placed point when there is no checkpoint (the job starts again)', () => {
    const { app, id } = stoppedRun(5);
    app.training.resume(id);
    expect(steps(app, id, 'train/batch_loss')).toEqual([]);
    expect(app.db.prepare(`SELECT COUNT(*) AS n FROM latest_metrics WHERE run_id = ? AND key LIKE 'train/%'`).get(id)).toEqual({ n: 0 });
  });

  it('refuses unknown and unresumable runs with a message that says what to do', () => {
    const { app, id } = stoppedRun(3);
    const training = app.training;
    expect(() => training.resume(id + 100)).toThrow(/Run \d+ does not exist in the experiment log .*log\.db; `puma runs list`/);
    app.runs.finish(id, 'finished');
    expect(() => training.resume(id)).toThrow(/is finished; only cancelled, interrupted or failed runs can be resumed \(start a new run/);
    expect(steps(app, id, 'train/batch_loss')).toEqual([1, 2, 3]); // nothing dropped by a refused resume
  });
});
