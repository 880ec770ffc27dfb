/**
 * The experiment manager end to end in Chromium: a sweep of 2 strategies × 2 seeds on the laptop
 * preset (tiny sizes) made in the New experiment form, run through the queue to the end, then
 * Compare: the grouped table (mean ± std, best bold) and the scatter, and the LaTeX export
 * downloaded and checked. Needs Fashion-MNIST in /usr/share/datasets (Debian's package).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PumaApp } from '../../src-main/services/app';
import type { RunningServer } from '../../src-main/transport/http';
import { startServedApp, type ServedApp } from '../helpers/served-app';

const haveFashion = fs.existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz');
let served: ServedApp;
let app: PumaApp;
let server: RunningServer;
let page: Page;
let dir: string;

beforeAll(async () => {
  if (!haveFashion) return;
  served = await startServedApp({ width: 1400, height: 1000 });
  ({ app, server, page, dir } = served);
});
afterAll(() => served?.close());

describe.skipIf(!haveFashion)('experiment manager in the browser', () => {
  it('sweeps 2 strategies × 2 seeds, compares them and exports the LaTeX table', async () => {
    await page.goto(server.url + '#/new-experiment');
    await expect.poll(() => page.locator('select[name=preset]').inputValue()).toBe('laptop');
    await page.fill('input[name=name]', 'e2e sweep');
    const fields: Record<string, string> = {
      strategy: 'none, random',
      prune_ratio: '0.2',
      seed: '0, 1',
      method: 'standard',
      train_subset: '256',
      epoch_size: '256',
      batch_size: '64',
      epochs: '3',
      eval_every: '1',
      eval_subset: '40',
      eval_attack_steps: '1',
      attack_steps: '1',
      log_every: '1',
    };
    for (const [k, v] of Object.entries(fields)) await page.fill(`input[name=${k}]`, v);
    await expect.poll(() => page.getByTestId('run-count').textContent()).toBe('4 runs');

    // A bad value shows a message under its field and blocks the sweep.
    await page.fill('input[name=prune_ratio]', '1.5');
    await expect.poll(() => page.getByTestId('problem-prune_ratio').count()).toBeGreaterThan(0);
    await page.fill('input[name=prune_ratio]', '0.2');
    await expect.poll(() => page.getByTestId('problem-prune_ratio').count()).toBe(0);

    await page.getByRole('button', { name: /Queue 4 runs/ }).click();
    await expect
      // queueing resolves the dataset first (a fresh log imports Fashion-MNIST): allow it time
      .poll(async () => page.url() + ' ' + (await page.locator('.error').allTextContents()).join(' | '), { timeout: 30_000 })
      .toMatch(/#\/runs\/\d+ $/);
    const experimentId = Number(/#\/runs\/(\d+)$/.exec(page.url())![1]);
    const runIds = app.db
      .prepare('SELECT id FROM runs WHERE experiment_id = ? ORDER BY id')
      .all(experimentId)
      .map((r) => (r as { id: number }).id);
    expect(runIds).toHaveLength(4);

    // The queue runs them one at a time; the view follows until all four are finished.
    const rows = page.locator('[data-testid=runs-table] tbody tr[data-run-id]');
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(4);
    let maxRunning = 0;
    for (const t0 = Date.now(); ;) {
      const statuses = await rows.evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.status));
      maxRunning = Math.max(maxRunning, statuses.filter((s) => s === 'running').length);
      if (statuses.some((s) => s === 'failed' || s === 'interrupted' || s === 'cancelled')) {
        const failed = app.db.prepare('SELECT id, status, error FROM runs WHERE experiment_id = ?').all(experimentId);
        throw new Error(`a run did not finish: ${JSON.stringify(failed)}`);
      }
      if (statuses.filter((s) => s === 'finished').length === 4) break;
      if (Date.now() - t0 > 200_000) throw new Error(`runs not finished after 200 s: ${statuses.join(', ')}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(maxRunning).toBeLessThanOrEqual(1);

    // Select all shown runs and open Compare.
    await page.locator('[data-testid=runs-table] thead input[type=checkbox]').check();
    await page.getByTestId('compare-selected').click();
    await expect.poll(() => page.url()).toMatch(/#\/compare\/[\d,]+$/);
    const table = page.getByTestId('grouped-table');
    await table.waitFor({ timeout: 30_000 });
    // Grouped by the changed key (strategy; seed is averaged over): two rows of mean ± std.
    await expect.poll(() => table.locator('tbody tr').count()).toBe(2);
    expect(await table.locator('thead th').first().textContent()).toBe('Pruning strategy');
    // n per group (two seeds each) and the share each strategy pruned: none 0 %, random 20 % of
    // the 256-image pool, rounded to whole images (51: 19.92 %).
    const lead = await table
      .locator('tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 3).map((td) => td.textContent!.trim())));
    expect(lead.sort()).toEqual([
      ['none', '0', '2'],
      ['random', String(Number(((Math.round(0.2 * 256) / 256) * 100).toFixed(2))), '2'],
    ]);
    const cells = await table.locator('tbody td.metric').allTextContents();
    expect(cells.length).toBeGreaterThanOrEqual(4);
    for (const c of cells) expect(c.trim()).toMatch(/^\d+\.\d\d ± \d+\.\d\d$/);
    expect(await table.locator('tbody .best').count()).toBeGreaterThanOrEqual(1);

    // Curves: every metric the runs logged, drawn with data, one line per group, a legend.
    const curves = page.locator('[data-testid=compare-curve]');
    await expect.poll(() => curves.count()).toBeGreaterThanOrEqual(5);
    const drawn = await curves.evaluateAll((els) =>
      els.map((el) => ({
        key: el.getAttribute('data-key'),
        series: Number(el.querySelector('canvas')!.dataset.series),
        drawn: Number(el.querySelector('canvas')!.dataset.drawn),
      })),
    );
    expect(drawn.map((c) => c.key)).toEqual(expect.arrayContaining(['test/clean_acc', 'test/robust_acc_cw', 'train/batch_loss']));
    for (const c of drawn) {
      expect(c.series, c.key!).toBe(2);
      expect(c.drawn, c.key!).toBeGreaterThan(0);
    }
    expect((await page.getByTestId('curves-legend').locator('li').allTextContents()).sort()).toEqual(['strategy=none (n=2)', 'strategy=random (n=2)']);
    if (process.env.PUMA_E2E_SCREENSHOTS) {
      // The page scrolls inside <main>: grow the window to the whole Compare page for the shot.
      const height = await page.locator('main').evaluate((m) => m.scrollHeight);
      await page.setViewportSize({ width: 1400, height: height + 40 });
      await page.waitForTimeout(300);
      await page.screenshot({ path: path.join(process.env.PUMA_E2E_SCREENSHOTS, 'compare.png') });
      await page.setViewportSize({ width: 1400, height: 1000 });
    }
    const scatter = page.getByTestId('scatter-chart');
    await expect.poll(() => scatter.getAttribute('data-points')).toBe('4');
    expect(await scatter.getAttribute('data-groups')).toBe('2');

    // LaTeX download: the browser gets a file; its contents are the paper-style table.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-latex').click()]);
    expect(download.suggestedFilename()).toMatch(/\.tex$/);
    const file = path.join(dir, download.suggestedFilename());
    await download.saveAs(file);
    const latex = fs.readFileSync(file, 'utf8');
    expect(latex).toContain('\\toprule');
    expect(latex).toContain('\\midrule');
    expect(latex).toContain('\\bottomrule');
    const dataRows = latex.split('\n').filter((l) => /^(none|random) &/.test(l));
    expect(dataRows).toHaveLength(2);
    for (const l of dataRows) expect(l).toMatch(/\$(\\mathbf\{)?\d+\.\d\d\}?_\{\\pm \d+\.\d\d\}\$/);
    expect(latex).toContain('\\mathbf{');
  });
});
