/**
 * Compare in Chromium on runs whose metric points are written the way the training job writes
 * them (train/batch_loss per step, test/clean_acc … per epoch, lr per epoch): every curve metric
 * gets a chart with data chart.js actually laid out, a legend names the runs or groups, grouped
 * curves carry a ± std band, the picker offers only the paper's table metrics by name, and the
 * table shows n, the pruned share and "±" only where n > 1. No training: the runs are written
 * straight into the served app's log, so this runs in seconds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { PumaApp } from '../../src-main/services/app';
import type { RunningServer } from '../../src-main/transport/http';
import { startServedApp, type ServedApp } from '../helpers/served-app';

let served: ServedApp;
let app: PumaApp;
let server: RunningServer;
let page: Page;
const ids: number[] = [];
const EPOCHS = 4;

/** A run's curves: loss falls per step, accuracies rise per epoch; `shift` tells runs apart. */
function addRun(strategy: string, seed: number, shift: number, kept: number): number {
  const id = app.runs.create({
    kind: 'train',
    name: `${strategy} seed ${seed}`,
    config: { strategy, prune_ratio: 0.2, seed, epochs: EPOCHS },
    seed,
    appVersion: 'test',
  });
  const points = [];
  for (let step = 10; step <= 200; step += 10) {
    points.push({ key: 'train/batch_loss', step, value: 2.3 * Math.exp(-step / 120) + 0.4 + shift }, { key: 'train/lr', step, value: 0.1 * (1 - step / 200) });
  }
  for (let epoch = 1; epoch <= EPOCHS; epoch++) {
    const t = epoch / EPOCHS;
    points.push(
      { key: 'train/loss', step: epoch, value: 1.6 - 0.8 * t + shift },
      { key: 'lr', step: epoch, value: 0.1 * (1 - t) },
      { key: 'test/clean_acc', step: epoch, value: 0.55 + 0.25 * t + shift },
      { key: 'test/robust_acc_pgd', step: epoch, value: 0.3 + 0.15 * t + shift },
      { key: 'test/robust_acc_cw', step: epoch, value: 0.28 + 0.14 * t + shift },
    );
  }
  app.runs.addMetrics(id, points);
  app.runs.setResult(id, { status: 'finished', pruning: { pool_size: 1000, kept, strategy, anti_adversarial: 0, mean_radius: null } });
  app.runs.finish(id, 'finished');
  return id;
}

beforeAll(async () => {
  served = await startServedApp({ width: 1400, height: 1000 });
  ({ app, server, page } = served);
  ids.push(
    addRun('none', 0, 0, 1000),
    addRun('none', 1, 0.01, 1000),
    addRun('puma', 0, 0.03, 800),
    addRun('puma', 1, 0.025, 800),
    addRun('random', 0, -0.01, 800),
  );
});
afterAll(() => served?.close());

/** What each chart shows: its metric key, series, points passed and points chart.js laid out. */
const charts = () =>
  page.locator('[data-testid=compare-curve]').evaluateAll((els) =>
    els.map((el) => {
      const canvas = el.querySelector('canvas')!;
      return {
        key: el.getAttribute('data-key'),
        series: Number(canvas.dataset.series),
        points: Number(canvas.dataset.points),
        drawn: Number(canvas.dataset.drawn),
      };
    }),
  );

describe('Compare in the browser', () => {
  it('draws every curve metric with data, a legend and group bands; the table reads like the paper', async () => {
    await page.goto(`${server.url}#/compare/${ids.join(',')}`);
    await page.getByTestId('grouped-table').waitFor({ timeout: 30_000 });

    // Grouped by the changed key (strategy; seed averaged over): one line and band per group.
    // Every curve metric in the listed order; "lr" (the per-epoch copy of train/lr) is not one.
    await expect.poll(async () => (await charts()).length).toBe(6);
    const grouped = await charts();
    expect(grouped.map((c) => c.key)).toEqual(['test/clean_acc', 'test/robust_acc_pgd', 'test/robust_acc_cw', 'train/batch_loss', 'train/loss', 'train/lr']);
    for (const c of grouped) {
      expect(c.series, c.key!).toBe(3);
      expect(c.points, c.key!).toBeGreaterThan(0);
      // The two groups of two runs add a band (two edges) each: chart.js draws more than the means.
      expect(c.drawn, c.key!).toBeGreaterThan(c.points);
    }
    const clean = grouped.find((c) => c.key === 'test/clean_acc')!;
    expect(clean.points).toBe(3 * EPOCHS);
    expect(clean.drawn).toBe(3 * EPOCHS + 2 * 2 * EPOCHS);
    const legend = page.getByTestId('curves-legend').locator('li');
    expect(await legend.allTextContents()).toEqual(['strategy=none (n=2)', 'strategy=puma (n=2)', 'strategy=random (n=1)']);
    // Axis and title in words, with the unit.
    expect(await page.locator('[data-key="test/clean_acc"] .chart-title').textContent()).toBe('Clean accuracy');
    expect(await page.locator('[data-key="test/clean_acc"] canvas').getAttribute('data-title')).toBe('Clean accuracy (%)');

    // Each run: one line per run, the legend names them.
    await page.getByTestId('curves-each-run').check();
    await expect.poll(async () => (await charts()).every((c) => c.series === 5)).toBe(true);
    for (const c of await charts()) expect(c.drawn, c.key!).toBe(c.points);
    expect(await legend.allTextContents()).toEqual(
      ids.map((id, i) => `#${id} ${['none seed 0', 'none seed 1', 'puma seed 0', 'puma seed 1', 'random seed 0'][i]}`),
    );

    // The picker: the paper's three numbers by name, never lr or the batch loss.
    const picker = await page.locator('[data-testid^=metric-]').evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')));
    expect(picker).toEqual(['metric-clean_acc', 'metric-robust_acc_pgd', 'metric-robust_acc_cw']);
    expect(await page.locator('label:has([data-testid=metric-robust_acc_cw])').textContent()).toBe('C&W robust accuracy');

    // The table: readable headers, pruned share and n, "±" only where n > 1.
    const table = page.getByTestId('grouped-table');
    expect(await table.locator('thead th').allTextContents()).toEqual([
      'Pruning strategy',
      'Pruned (%)',
      'n',
      'Clean accuracy (%)',
      'PGD robust accuracy (%)',
      'C&W robust accuracy (%)',
    ]);
    const rows = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent!.trim())));
    expect(rows.map((r) => r.slice(0, 3))).toEqual([
      ['none', '0', '2'],
      ['puma', '20', '2'],
      ['random', '20', '1'],
    ]);
    // none: clean 0.80 and 0.81 → 80.50 ± 0.71 (std 0.01/√2 · 100); random: 0.79 alone.
    expect(rows[0]![3]).toBe('80.50 ± 0.71');
    expect(rows[2]![3]).toBe('79.00');
    for (const cell of rows[2]!.slice(3)) expect(cell).not.toContain('±');
  });

  it("the runs list names metrics in words and draws a run's accuracies (per epoch) apart from its batch loss (per step)", async () => {
    await page.goto(`${server.url}#/runs`);
    const table = page.getByTestId('runs-table');
    await table.locator(`tr[data-run-id="${ids[0]}"]`).waitFor({ timeout: 30_000 });
    const heads = await table.locator('thead th').allTextContents();
    expect(heads).toEqual(expect.arrayContaining(['Clean accuracy (%)', 'PGD robust accuracy (%)', 'C&W robust accuracy (%)']));
    await table.locator(`tr[data-run-id="${ids[0]}"] td`).nth(1).click();
    const detail = page.getByTestId('run-detail');
    await expect.poll(() => detail.locator('canvas').count()).toBe(2);
    const shown = await detail
      .locator('canvas')
      .evaluateAll((cs) => cs.map((c) => [c.getAttribute('data-title'), c.getAttribute('data-series'), c.getAttribute('data-points')]));
    expect(shown).toEqual([
      ['accuracy (%)', '3', String(3 * EPOCHS)],
      ['Training loss (batch)', '1', '20'],
    ]);
  });
});
