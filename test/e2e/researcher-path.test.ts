/**
 * The researcher's main path as one piece, in Chromium on a fresh log, on a small subset of
 * Fashion-MNIST: Home imports the data → a PUMA run (r = 0.2) from the Train form → its margin
 * set opened from the run page, kept vs pruned drawn → a second run cloned with strategy none →
 * Home's Compare link → every curve drawn with data for both runs, with a legend → the LaTeX
 * table downloaded. Asserts on what chart.js laid out, not only on text.
 * With PUMA_E2E_SCREENSHOTS=DIR it saves a screenshot of each page of the path (the README's).
 * Needs Fashion-MNIST in /usr/share/datasets (Debian's package).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrainRunResult } from '../../src-shared/domain/training';
import type { PumaApp } from '../../src-main/services/app';
import type { RunningServer } from '../../src-main/transport/http';
import { startServedApp, type ServedApp } from '../helpers/served-app';

const haveFashion = fs.existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz');
const SUBSET = 400;
const RATIO = 0.2;
let served: ServedApp;
let app: PumaApp;
let server: RunningServer;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!haveFashion) return;
  served = await startServedApp({ width: 1280, height: 1100 });
  ({ app, server, page } = served);
  page.on('pageerror', (e) => pageErrors.push(e.message));
});
afterAll(() => served?.close());

async function shot(name: string): Promise<void> {
  const dir = process.env.PUMA_E2E_SCREENSHOTS;
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  // <main> scrolls by itself: grow the window to the whole page for the picture.
  const height = await page.locator('main').evaluate((m) => m.scrollHeight);
  await page.setViewportSize({ width: 1280, height: Math.min(4000, Math.max(800, height + 40)) });
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(dir, name) });
  await page.setViewportSize({ width: 1280, height: 1100 });
}

/** Waits on the run page until the run ends; a failed run reports its error. */
async function waitFinished(runId: number): Promise<void> {
  await expect
    .poll(
      async () => {
        const run = app.runs.get(runId);
        return run.status === 'failed' || run.status === 'interrupted' ? `${run.status}: ${run.error}` : run.status;
      },
      { timeout: 300_000, interval: 1000 },
    )
    .toBe('finished');
  await expect.poll(() => page.getByTestId('train-status').textContent(), { timeout: 30_000 }).toBe('finished');
}

describe.skipIf(!haveFashion)("the researcher's main path", () => {
  it('import → PUMA run → its margins → a second run → Compare curves → LaTeX', async () => {
    // 1. Data, from Home's next step.
    await page.goto(server.url);
    const home = page.getByTestId('home');
    await expect.poll(() => home.getAttribute('data-next'), { timeout: 30_000 }).toBe('data');
    await shot('home-empty.png');
    await page.getByTestId('home-import-fashion').click();
    await expect.poll(() => page.getByTestId('home-step-data').getAttribute('data-count'), { timeout: 120_000, interval: 500 }).toBe('1');

    // 2. A PUMA run: it trains its margin model, computes margins, prunes r of the pool.
    await page.getByTestId('home-start-run').click();
    await page.getByTestId('train-preset').selectOption('laptop');
    await page.getByTestId('train-strategy').selectOption('puma');
    await page.getByTestId('train-prune_ratio').fill(String(RATIO));
    await page.getByTestId('train-epochs').fill('2');
    const overrides = [
      `train_subset=${SUBSET}`,
      'epoch_size=200',
      'batch_size=40',
      'attack_steps=2',
      'margin_model_epochs=1',
      'eval_every=1',
      'eval_subset=40',
      'eval_attack_steps=2',
      'log_every=1',
    ];
    await page.getByTestId('train-overrides').fill(overrides.join('\n'));
    await shot('train.png');
    await page.getByTestId('train-start').click();
    await expect.poll(() => page.url(), { timeout: 30_000 }).toMatch(/#\/train\/\d+$/);
    const pumaRun = Number(/#\/train\/(\d+)$/.exec(page.url())![1]);
    await waitFinished(pumaRun);
    const result = app.runs.get(pumaRun).result as TrainRunResult;
    const kept = SUBSET - Math.round(RATIO * SUBSET);
    expect(result.pruning!.kept).toBe(kept);
    expect(await page.getByTestId('final-kept').textContent()).toBe(`${kept} / ${SUBSET}`);
    // Two evaluations (after each epoch): two points laid out on each accuracy curve.
    await expect.poll(() => page.getByTestId('train-acc-chart').getAttribute('data-points')).toBe('2');
    await shot('run.png');

    // 3. Its margin set, linked from the run page: kept vs pruned, ε_i, the galleries.
    const setLink = page.getByTestId('run-margin-set');
    expect(await setLink.getAttribute('href')).toBe(`#/margins/${result.margin_set_id}`);
    await setLink.click();
    await page.getByTestId('selection-summary').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('selection-kept').textContent()).toBe(String(kept));
    expect(await page.getByTestId('selection-pruned').textContent()).toBe(String(SUBSET - kept));
    const hist = page.getByTestId('selection-histogram');
    await expect.poll(() => hist.getAttribute('data-datasets')).toBe('2');
    expect(await hist.getAttribute('data-kept')).toBe(String(kept));
    expect(await hist.getAttribute('data-pruned')).toBe(String(SUBSET - kept));
    expect(Number(await page.getByTestId('radius-histogram').getAttribute('data-total'))).toBe(kept);
    expect(await page.getByTestId('gallery-pruned').getByTestId('margin-image').count()).toBeGreaterThan(0);
    expect(await page.getByTestId('gallery-kept').getByTestId('margin-image').count()).toBeGreaterThan(0);
    await shot('margins.png');
    // The Margins list names the run that made the set.
    await page.locator('nav a[href="#/margins"]').click();
    const setRow = page.getByTestId('margin-set-row');
    await expect.poll(() => setRow.count(), { timeout: 10_000 }).toBe(1);
    expect(await setRow.getByTestId('margin-set-run').locator('a').getAttribute('href')).toBe(`#/train/${pumaRun}`);

    // 4. A second run: the PUMA run cloned, strategy none (the whole pool).
    await page.goto(`${server.url}#/train?clone=${pumaRun}`);
    await expect.poll(() => page.getByTestId('train-strategy').inputValue(), { timeout: 10_000 }).toBe('puma');
    await page.getByTestId('train-strategy').selectOption('none');
    await page.getByTestId('train-start').click();
    await expect.poll(() => page.url(), { timeout: 30_000 }).toMatch(new RegExp(`#/train/(?!${pumaRun}$)\\d+$`));
    const fullRun = Number(/#\/train\/(\d+)$/.exec(page.url())![1]);
    await waitFinished(fullRun);
    expect((app.runs.get(fullRun).result as TrainRunResult).pruning!.kept).toBe(SUBSET);

    // 5. Home's last step: Compare the two runs.
    await page.locator('nav').getByRole('link', { name: 'Home', exact: true }).click();
    await expect.poll(() => home.getAttribute('data-next'), { timeout: 10_000 }).toBe('compare');
    await shot('home.png');
    await page.getByTestId('home-compare').click();
    await expect.poll(() => page.url()).toMatch(/#\/compare\/[\d,]+$/);
    const table = page.getByTestId('grouped-table');
    await table.waitFor({ timeout: 30_000 });
    await expect.poll(() => table.locator('tbody tr').count()).toBe(2);
    // One run per strategy: n = 1 and no "±" anywhere; accuracies in percent.
    expect(await table.locator('[data-testid=group-n]').allTextContents()).toEqual(['1', '1']);
    for (const c of await table.locator('tbody td.metric').allTextContents()) expect(c.trim()).toMatch(/^\d+\.\d\d$/);
    // Every curve drawn with data for both runs, and a legend naming them.
    const curves = page.locator('[data-testid=compare-curve]');
    await expect.poll(() => curves.count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(4);
    const drawn = await curves.evaluateAll((els) =>
      els.map((el) => ({
        key: el.getAttribute('data-key'),
        series: Number(el.querySelector('canvas')!.dataset.series),
        drawn: Number(el.querySelector('canvas')!.dataset.drawn),
      })),
    );
    expect(drawn.map((c) => c.key)).toEqual(expect.arrayContaining(['train/batch_loss', 'test/clean_acc', 'test/robust_acc_pgd']));
    for (const c of drawn) {
      expect(c.series, c.key!).toBe(2);
      expect(c.drawn, c.key!).toBeGreaterThan(0);
    }
    expect(await page.getByTestId('curves-legend').locator('li').count()).toBe(2);
    await shot('compare.png');

    // 6. The paper's table, as LaTeX.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-latex').click()]);
    const file = path.join(served.dir, download.suggestedFilename());
    await download.saveAs(file);
    const latex = fs.readFileSync(file, 'utf8');
    expect(latex).toContain('\\toprule');
    const rows = latex.split('\n').filter((l) => /^(none|puma) &/.test(l));
    expect(rows).toHaveLength(2);
    expect(latex).not.toContain('\\pm');
    expect(pageErrors).toEqual([]);
  }, 600_000);
});
