/**
 * Tables shaped like the paper's, from train runs in a real log: metric values stored the way
 * the training job stores them (test/clean_acc …, fractions), the pruned share from each run's
 * result, grouped by strategy and prune_ratio. Expected numbers are computed here from the inputs.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompareData, ExportedText } from '../../../src-shared/api/ops/experiments';
import type { GroupedTable } from '../../../src-shared/method/table';
import { PumaApp } from '../../../src-main/services/app';
import { tempDir } from '../../helpers/tmp';
import { fakeLauncher } from '../experiments/fake-launcher';

let app: PumaApp;
let cleanup: () => void;
const call = <T>(op: string, req: unknown) => app.dispatch(op, req) as Promise<T>;

/** Three PUMA seeds at r = 0.3 (420 of 600 kept) and one run without pruning. */
const puma = [
  { seed: 0, clean: 0.8123, cw: 0.4412, pgd: 0.4711 },
  { seed: 1, clean: 0.8071, cw: 0.4521, pgd: 0.4802 },
  { seed: 2, clean: 0.8302, cw: 0.4387, pgd: 0.4655 },
];
const single = { seed: 0, clean: 0.7954, cw: 0.4233, pgd: 0.4498 };
let pumaIds: number[];
let noneId: number;

/** Independent of the code under test: plain mean and sample std (n − 1), printed ×100 with 2 decimals. */
function stats(values: number[]): { mean: string; std: string } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1);
  return { mean: (mean * 100).toFixed(2), std: (Math.sqrt(variance) * 100).toFixed(2) };
}

function addRun(strategy: string, r: { seed: number; clean: number; cw: number; pgd: number }, kept: number): number {
  const id = app.runs.create({
    kind: 'train',
    name: `${strategy} seed ${r.seed}`,
    config: { strategy, prune_ratio: strategy === 'none' ? 0 : 0.3, seed: r.seed },
    seed: r.seed,
    appVersion: 'test',
  });
  // As runTrainingJob writes them: batch loss per step, the evaluation per epoch.
  app.runs.addMetrics(id, [
    { key: 'train/batch_loss', step: 10, value: 2.1 },
    { key: 'train/batch_loss', step: 20, value: 1.7 },
    { key: 'lr', step: 1, value: 0.1 },
    { key: 'test/clean_acc', step: 1, value: r.clean - 0.05 },
    { key: 'test/clean_acc', step: 2, value: r.clean },
    { key: 'test/robust_acc_pgd', step: 2, value: r.pgd },
    { key: 'test/robust_acc_cw', step: 2, value: r.cw },
  ]);
  app.runs.setResult(id, { status: 'finished', pruning: { pool_size: 600, kept, strategy, anti_adversarial: 0, mean_radius: null } });
  app.runs.finish(id, 'finished');
  return id;
}

beforeAll(() => {
  const t = tempDir('puma-paper-table-');
  cleanup = t.cleanup;
  app = new PumaApp({ dbPath: path.join(t.dir, 'log.db'), launcher: fakeLauncher().launcher, mode: 'browser' });
  pumaIds = puma.map((r) => addRun('puma', r, 420));
  noneId = addRun('none', single, 600);
});
afterAll(() => {
  app.close();
  cleanup();
});

const exportAs = (format: 'md' | 'latex' | 'csv', metrics = ['clean_acc', 'robust_acc_cw']) =>
  call<ExportedText>('export.table', { runIds: [...pumaIds, noneId], groupBy: ['strategy', 'prune_ratio'], metrics, format }).then((r) => r.text);

describe('exports shaped like the paper', () => {
  it('Markdown: keys, pruned share and n as columns, metrics by name in percent; ± for the group of 3, none for the single run', async () => {
    const clean = stats(puma.map((r) => r.clean));
    const cw = stats(puma.map((r) => r.cw));
    const md = (await exportAs('md')).split('\n');
    expect(md[0]).toBe('| strategy | prune_ratio | Pruned (%) | n | Clean accuracy (%) | C&W robust accuracy (%) |');
    expect(md[2]).toBe(`| puma | 0.3 | 30 | 3 | **${clean.mean} ± ${clean.std}** | **${cw.mean} ± ${cw.std}** |`);
    expect(md[3]).toBe(`| none | 0 | 0 | 1 | ${(single.clean * 100).toFixed(2)} | ${(single.cw * 100).toFixed(2)} |`);
    expect(md.join('\n')).not.toContain('± 0.00');
  });

  it('LaTeX: the same cells as $mean_{\\pm std}$, a single run as $mean$', async () => {
    const clean = stats(puma.map((r) => r.clean));
    const pgd = stats(puma.map((r) => r.pgd));
    const latex = await exportAs('latex', ['clean_acc', 'robust_acc_pgd']);
    expect(latex).toContain('strategy & prune\\_ratio & Pruned (\\%) & n & Clean accuracy (\\%) & PGD robust accuracy (\\%) \\\\');
    expect(latex).toContain(`puma & 0.3 & 30 & 3 & $\\mathbf{${clean.mean}}_{\\pm ${clean.std}}$ & $\\mathbf{${pgd.mean}}_{\\pm ${pgd.std}}$ \\\\`);
    expect(latex).toContain(`none & 0 & 0 & 1 & $${(single.clean * 100).toFixed(2)}$ & $${(single.pgd * 100).toFixed(2)}$ \\\\`);
  });

  it('CSV: percent values, an empty std for the single run', async () => {
    const csv = (await exportAs('csv', ['clean_acc'])).split('\r\n');
    expect(csv[0]).toBe('strategy,prune_ratio,Pruned (%),n,Clean accuracy (%),Clean accuracy (%) std,Clean accuracy n');
    const [, , pruned, n, mean, std, count] = csv[1]!.split(',');
    expect([pruned, n, count]).toEqual(['30', '3', '3']);
    expect(Number(mean).toFixed(2)).toBe(stats(puma.map((r) => r.clean)).mean);
    expect(Number(std).toFixed(2)).toBe(stats(puma.map((r) => r.clean)).std);
    expect(csv[2]).toBe(`none,0,0,1,${Number((single.clean * 100).toPrecision(12))},,1`);
  });

  it('names a metric no run has and offers the ones they have', async () => {
    await expect(exportAs('md', ['clean_accc'])).rejects.toThrow(
      /no selected run has the metric 'clean_accc'; these runs have clean_acc, robust_acc_cw, robust_acc_pgd/,
    );
  });

  it('compare.data sends the default table with the paper metrics, pruned shares and no std for the single run', async () => {
    const data = await call<CompareData>('compare.data', { runIds: [...pumaIds, noneId] });
    const table = data.table as GroupedTable;
    expect(table.metrics).toEqual(['clean_acc', 'robust_acc_pgd', 'robust_acc_cw']);
    expect(table.groupBy).toEqual(['strategy', 'prune_ratio']);
    expect(table.groups.map((g) => [g.runIds.length, g.pruned])).toEqual([
      [3, [1 - 420 / 600]],
      [1, [0]],
    ]);
    expect(table.groups[1]!.metrics.clean_acc).toMatchObject({ n: 1, std: null });
    // Every stored series comes back for the curves, under its stored key.
    const keys = data.series[0]!.series.map((s) => s.key).sort();
    expect(keys).toEqual(['lr', 'test/clean_acc', 'test/robust_acc_cw', 'test/robust_acc_pgd', 'train/batch_loss']);
  });
});
