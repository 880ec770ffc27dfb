/**
 * Sweeps with arms (keys set together, as a template's PE+PD sets two ratios) through the app's
 * dispatcher: the plan validates a template's every run, and create queues arms × grid in order
 * with run names that say what tells the runs apart. Jobs are fake: nothing trains.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SweepPlan } from '../../../src-shared/api/ops/experiments';
import { getTemplate, planTemplate } from '../../../src-shared/method/templates';
import { PumaApp } from '../../../src-main/services/app';
import { tempDir } from '../../helpers/tmp';
import { fakeLauncher } from './fake-launcher';

let app: PumaApp;
let cleanup: () => void;
const call = <T>(op: string, req: unknown) => app.dispatch(op, req) as Promise<T>;

beforeAll(() => {
  const t = tempDir('puma-arms-');
  cleanup = t.cleanup;
  app = new PumaApp({ dbPath: path.join(t.dir, 'log.db'), launcher: fakeLauncher().launcher, mode: 'browser', concurrency: 1 });
});
afterAll(() => {
  app.close();
  cleanup();
});

describe('sweeps with arms', () => {
  it("plans the strategies template's 18 runs with no problems, PE+PD's two ratios set together", async () => {
    const laptop = JSON.parse(fs.readFileSync(path.join('resources', 'presets', 'laptop.json'), 'utf8')) as Record<string, unknown>;
    const { base, arms, grid } = planTemplate(getTemplate('strategies'), laptop);
    const plan = await call<SweepPlan>('experiments.plan', { kind: 'train', base, arms, grid });
    expect(plan.problems).toEqual([]);
    expect(plan.count).toBe(18);
    const pePd = plan.configs.filter((c) => c.strategy === 'pe_pd');
    expect(pePd.map((c) => [c.prune_ratio, c.pd_ratio, c.seed])).toEqual([
      [0.1, 0.1, 0],
      [0.1, 0.1, 1],
      [0.1, 0.1, 2],
    ]);
  });

  it('creates arms × grid runs in order, named by the arm keys that differ and the swept grid keys', async () => {
    const base = { k: 20, alphas: [1], ratios: [0], strategies: ['none'], seeds: 1, maxSteps: 50 };
    const arms = [{ eps: 0 }, { eps: 0.1, maxSteps: 60 }];
    const { runIds } = await call<{ runIds: number[] }>('experiments.create', { kind: 'perceptron', base, arms, grid: { tol: [1e-3, 1e-4] }, name: 'arms' });
    const runs = runIds.map((id) => app.runs.get(id));
    expect(runs.map((r) => r.name)).toEqual([
      'arms · eps=0 maxSteps=50 tol=0.001',
      'arms · eps=0 maxSteps=50 tol=0.0001',
      'arms · eps=0.1 maxSteps=60 tol=0.001',
      'arms · eps=0.1 maxSteps=60 tol=0.0001',
    ]);
  });

  it('refuses a bad arm before creating anything', async () => {
    const before = app.runs.list().length;
    await expect(call('experiments.create', { kind: 'perceptron', base: {}, arms: [{ eps: -1 }], name: 'bad' })).rejects.toThrow(/eps/);
    expect(app.runs.list()).toHaveLength(before);
  });
});
