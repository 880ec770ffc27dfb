/**
 * The experiment service through the app's dispatcher (as the UI calls it): sweep plans with
 * validation problems, the runs table (filters, tags, notes, last and best metrics), compare
 * data and the grouped table / exports over runs with real metric points.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompareData, RunTableRow, SweepPlan } from '../../../src-shared/api/ops/experiments';
import type { GroupedTable } from '../../../src-shared/method/table';
import { PumaApp } from '../../../src-main/services/app';
import { tempDir } from '../../helpers/tmp';
import { fakeLauncher, finishJob } from './fake-launcher';

const base = { k: 20, alphas: [1], ratios: [0], strategies: ['none'], seeds: 1, maxSteps: 50 };
let app: PumaApp;
let fake: ReturnType<typeof fakeLauncher>;
let cleanup: () => void;
let ids: number[];
let experimentId: number;
const call = <T>(op: string, req: unknown) => app.dispatch(op, req) as Promise<T>;

/** Clean accuracy rises with eps here, robust accuracy falls; seeds add ±0.01. */
const accFor = (eps: number, seed: number) => ({ clean: 0.8 + eps + 0.01 * seed, robust: 0.5 - eps + 0.01 * seed });

beforeAll(async () => {
  const t = tempDir('puma-exp-');
  cleanup = t.cleanup;
  fake = fakeLauncher();
  app = new PumaApp({ dbPath: path.join(t.dir, 'log.db'), launcher: fake.launcher, mode: 'browser', concurrency: 8 });
  // A 2 × 2 sweep over eps and maxSteps (standing in for seeds: perceptron configs have no seed key).
  const created = await call<{ experimentId: number; runIds: number[] }>('experiments.create', {
    kind: 'perceptron',
    base,
    grid: { eps: [0, 0.1], maxSteps: [50, 51] },
    name: 'grid',
    tags: 'demo, grid',
  });
  ids = created.runIds;
  experimentId = created.experimentId;
  for (const job of fake.jobs) {
    const config = job.config as { eps: number; maxSteps: number };
    const seed = config.maxSteps - 50;
    const { clean, robust } = accFor(config.eps, seed);
    const points = [1, 2, 3].flatMap((step) => [
      { key: 'clean_acc', step, value: clean - 0.1 * (3 - step) },
      { key: 'robust_acc_cw', step, value: step === 2 ? robust + 0.05 : robust },
      { key: 'train_loss', step, value: 1 / step },
    ]);
    finishJob(job, points);
  }
});
afterAll(() => {
  app.close();
  cleanup();
});

describe('sweep plan', () => {
  it('expands the grid and fills defaults', async () => {
    const plan = await call<SweepPlan>('experiments.plan', { kind: 'perceptron', base, grid: { eps: [0, 0.1], tol: [1e-3, 1e-4, 1e-5] } });
    expect(plan.count).toBe(6);
    expect(plan.problems).toEqual([]);
    expect(plan.configs.map((c) => [c.eps, c.tol])).toEqual([
      [0, 1e-3],
      [0, 1e-4],
      [0, 1e-5],
      [0.1, 1e-3],
      [0.1, 1e-4],
      [0.1, 1e-5],
    ]);
    expect(plan.configs[0]!.filterBelowEps).toBe(false);
  });

  it('names the bad key and the runs that have it, and creates nothing', async () => {
    const plan = await call<SweepPlan>('experiments.plan', { kind: 'perceptron', base, grid: { k: [20, 1], eps: [0, -1] } });
    expect(plan.problems.map((p) => [p.path, p.runs])).toEqual(
      [
        ['eps', [1, 3]],
        ['k', [2, 3]],
      ].sort() as never,
    );
    const before = app.runs.list().length;
    await expect(call('experiments.create', { kind: 'perceptron', base, grid: { k: [1] }, name: 'bad' })).rejects.toThrow(/k: .*runs 1/);
    expect(app.runs.list().length).toBe(before);
  });

  it('validates training configs with the training schema', async () => {
    const plan = await call<SweepPlan>('experiments.plan', { kind: 'train', base: { epochs: 1 }, grid: { strategy: ['none', 'nonsense'] } });
    expect(plan.count).toBe(2);
    expect(plan.problems).toHaveLength(1);
    expect(plan.problems[0]).toMatchObject({ path: 'strategy', runs: [1] });
  });
});

describe('runs table', () => {
  it('has config, tags, last and best metrics, and the run names say the grid values', async () => {
    const rows = await call<RunTableRow[]>('runs.table', { experimentId });
    expect(rows.map((r) => r.id).sort()).toEqual([...ids].sort());
    const row = rows.find((r) => r.id === ids[0])!;
    expect(row.name).toBe('grid · eps=0 maxSteps=50');
    expect(row.tags).toBe('demo,grid');
    expect(row.status).toBe('finished');
    expect(row.latest.robust_acc_cw).toBeCloseTo(0.5);
    expect(row.best.robust_acc_cw).toBeCloseTo(0.55);
    expect(row.best.clean_acc).toBeCloseTo(0.8);
    // A loss is best at its minimum.
    expect(row.best.train_loss).toBeCloseTo(1 / 3);
  });

  it('filters by words (tags, notes) and by config values', async () => {
    await call('runs.update', { id: ids[3], notes: 'the interesting one', tags: 'keep' });
    const byNote = await call<RunTableRow[]>('runs.table', { text: 'INTERESTING' });
    expect(byNote.map((r) => r.id)).toEqual([ids[3]]);
    const byConfig = await call<RunTableRow[]>('runs.table', { text: 'eps=0.1' });
    expect(byConfig.map((r) => r.id).sort()).toEqual([ids[2], ids[3]].sort());
    const both = await call<RunTableRow[]>('runs.table', { text: 'grid eps=0.10', where: { maxSteps: '51' } });
    expect(both.map((r) => r.id)).toEqual([ids[3]]);
    expect(await call<RunTableRow[]>('runs.table', { text: 'eps=0.3' })).toEqual([]);
  });
});

describe('compare and export', () => {
  it('returns the config diff, only-changed, and down-sampled series', async () => {
    const data = await call<CompareData>('compare.data', { runIds: ids, onlyChanged: true, maxPoints: 2 });
    expect(data.diff.rows.map((r) => r.key)).toEqual(['eps', 'maxSteps']);
    expect(data.diff.rows[0]!.values).toEqual([0, 0, 0.1, 0.1]);
    const clean = data.series[0]!.series.find((s) => s.key === 'clean_acc')!;
    expect(clean.points.map((p) => p.step)).toEqual([1, 3]);
    const full = await call<CompareData>('compare.data', { runIds: ids.slice(0, 2) });
    expect(full.diff.rows.length).toBeGreaterThan(5);
  });

  it('groups by eps with mean ± std over the two "seeds"', async () => {
    const table = await call<GroupedTable>('compare.table', { experimentId, groupBy: ['eps'], metrics: ['clean_acc', 'robust_acc_cw', 'train_loss'] });
    expect(table.groups.map((g) => g.values)).toEqual([[0], [0.1]]);
    const [g0, g1] = table.groups;
    expect(g0!.metrics.clean_acc!.mean).toBeCloseTo(0.805);
    expect(g0!.metrics.clean_acc!.std).toBeCloseTo(Math.SQRT1_2 * 0.01);
    expect(g1!.metrics.clean_acc!.best).toBe(true);
    expect(g0!.metrics.robust_acc_cw!.best).toBe(true);
    // Loss: lower is better; both groups have the same last loss (a tie, both bold).
    expect(g0!.metrics.train_loss!.best && g1!.metrics.train_loss!.best).toBe(true);
  });

  it('exports LaTeX with the best mean in bold and raw metrics as CSV', async () => {
    const latex = await call<{ text: string; fileName: string }>('export.table', {
      experimentId,
      groupBy: ['eps'],
      metrics: ['clean_acc', 'robust_acc_cw'],
      format: 'latex',
    });
    expect(latex.fileName).toBe(`experiment-${experimentId}-table.tex`);
    expect(latex.text).toContain('\\toprule');
    expect(latex.text).toContain('$\\mathbf{90.50}_{\\pm 0.71}$');
    expect(latex.text).toContain('$80.50_{\\pm 0.71}$');
    const raw = await call<{ text: string }>('export.metrics', { runIds: [ids[0]], format: 'csv' });
    const lines = raw.text.trim().split(/\r?\n/);
    expect(lines[0]).toBe('run_id,key,step,value,time');
    expect(lines).toHaveLength(1 + 9);
    await expect(call('export.table', { groupBy: [], metrics: ['clean_acc'], format: 'csv' })).rejects.toThrow(/names no runs/);
  });
});
