/**
 * Home and the run page in Chromium, on a fresh log: Home marks "import Fashion-MNIST" as the
 * next step and imports it; a tiny PUMA run started from the Train form lands on its run page,
 * which shows the run's own config (not the form's defaults), its four phases with their own
 * bars, the single evaluation drawn by chart.js (eval_every 2 over 2 epochs: one point per
 * curve), live seconds and the final row; the sidebar's Train link leads back to the running
 * run; "Clone into a new run" fills the form with its config; Home then shows the run and
 * suggests a second one. Needs Fashion-MNIST in /usr/share/datasets (Debian's package).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src-main/transport/http';
import { startServedApp, type ServedApp } from '../helpers/served-app';

const haveFashion = fs.existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz');
let served: ServedApp;
let server: RunningServer;
let page: Page;

beforeAll(async () => {
  if (!haveFashion) return;
  served = await startServedApp();
  ({ server, page } = served);
});
afterAll(() => served?.close());

const shot = async (name: string) => {
  const dir = process.env.PUMA_E2E_SCREENSHOTS;
  if (dir) await page.screenshot({ path: path.join(dir, name), fullPage: true });
};

describe.skipIf(!haveFashion)('Home and the run page in the browser', () => {
  it('Home → import → a PUMA run on its own page (config, phases, one evaluation drawn) → clone', async () => {
    // The app opens on Home, whose next step on a fresh log is the data.
    await page.goto(server.url);
    const home = page.getByTestId('home');
    await expect.poll(() => home.getAttribute('data-next'), { timeout: 30_000 }).toBe('data');
    await page.getByTestId('home-import-fashion').click();
    await expect.poll(() => home.getAttribute('data-next'), { timeout: 120_000, interval: 500 }).toBe('runs');
    expect(await page.getByTestId('home-step-data').getAttribute('data-count')).toBe('1');

    await page.getByTestId('home-start-run').click();
    await page.getByTestId('train-preset').selectOption('laptop');
    await page.getByTestId('train-strategy').selectOption('puma');
    await page.getByTestId('train-prune_ratio').fill('0.2');
    await page.getByTestId('train-epochs').fill('2');
    const overrides = [
      'train_subset=512',
      'epoch_size=256',
      'batch_size=32',
      'attack_steps=2',
      'margin_model_epochs=1',
      'eval_every=2',
      'eval_subset=40',
      'eval_attack_steps=2',
      'log_every=1',
    ];
    await page.getByTestId('train-overrides').fill(overrides.join('\n'));
    await page.getByTestId('train-start').click();

    // Start leads to the run page: the run, not the form.
    await expect.poll(() => page.url(), { timeout: 30_000 }).toMatch(/#\/train\/\d+$/);
    const runId = Number(/#\/train\/(\d+)$/.exec(page.url())![1]);
    const status = page.getByTestId('train-status');
    await expect.poll(() => status.textContent(), { timeout: 60_000 }).toMatch(/queued|running|finished/);
    expect(await page.getByTestId('train-form').count()).toBe(0);
    // Its own configuration, read-only: the keys it changed, with their values.
    const configRow = (key: string) => page.locator(`[data-testid=run-config-row][data-key=${key}]`);
    await expect.poll(() => configRow('strategy').locator('td').first().textContent()).toBe('puma');
    expect(await configRow('train_subset').locator('td').first().textContent()).toBe('512');
    expect(await configRow('eval_every').locator('td').first().textContent()).toBe('2');

    // The phases, each reported with its own fraction while the run goes.
    const phase = (id: string) => page.locator(`[data-testid=run-phase][data-phase=${id}]`);
    await expect
      .poll(() => page.getByTestId('run-phase').evaluateAll((els) => els.map((e) => e.getAttribute('data-phase'))), { timeout: 60_000 })
      .toEqual(['margin_model', 'margins', 'training', 'evaluation']);
    // The elapsed time runs while the job does.
    await expect.poll(() => page.getByTestId('run-seconds').textContent(), { timeout: 60_000 }).toMatch(/^\d+ s$/);

    if (process.env.PUMA_E2E_SCREENSHOTS) {
      // A look at the page mid-training (phases done, running, waiting), when the run is still that far.
      for (let i = 0; i < 600; i++) {
        const st = await phase('training').getAttribute('data-status');
        if (st === 'done') break;
        if (st === 'running' && /left$/.test((await phase('training').getByTestId('run-phase-eta').textContent()) ?? '')) {
          await shot('run-live.png');
          break;
        }
        await page.waitForTimeout(100);
      }
    }

    // The sidebar's Train link does not lose the running run.
    if ((await status.textContent()) !== 'finished') {
      await expect.poll(() => page.getByTestId('nav-running').textContent(), { timeout: 10_000 }).toBe('1 running');
      await page.locator('nav a[href="#/train"]').click();
      const active = page.getByTestId('train-active-run');
      await expect.poll(() => active.count(), { timeout: 10_000 }).toBeGreaterThan(0);
      await active.first().locator('a').click();
      await expect.poll(() => page.url()).toMatch(new RegExp(`#/train/${runId}$`));
    }

    await expect.poll(() => status.textContent(), { timeout: 180_000, interval: 500 }).toBe('finished');
    for (const id of ['margin_model', 'margins', 'training', 'evaluation']) {
      await expect.poll(() => phase(id).getAttribute('data-status')).toMatch(/^(done|skipped)$/);
    }
    expect(await phase('training').getAttribute('data-status')).toBe('done');
    expect(await phase('training').getByTestId('run-phase-eta').textContent()).toMatch(/^done in \d+/);

    // One evaluation (after epoch 2): one point per curve, laid out by chart.js and drawn with markers.
    const accChart = page.getByTestId('train-acc-chart');
    await expect.poll(() => accChart.getAttribute('data-points')).toBe('1');
    await expect.poll(() => accChart.locator('canvas').getAttribute('data-drawn')).toBe('3');
    expect(Number(await page.getByTestId('train-loss-chart').locator('canvas').getAttribute('data-drawn'))).toBeGreaterThan(10);

    // The final row: accuracies in percent, a real throughput and time.
    for (const id of ['final-clean', 'final-pgd', 'final-cw']) expect(await page.getByTestId(id).textContent()).toMatch(/^\d+\.\d %$/);
    expect(Number(await page.getByTestId('final-img-s').textContent())).toBeGreaterThan(0);
    expect(Number(await page.getByTestId('final-seconds').textContent())).toBeGreaterThan(0);
    expect(await page.getByTestId('final-kept').textContent()).toBe('410 / 512');
    // The margin set this run made is linked to the Margins page.
    await expect.poll(() => page.getByTestId('run-margin-set').getAttribute('href')).toMatch(/^#\/margins\/\d+$/);
    await shot('run.png');
    if (process.env.PUMA_E2E_SCREENSHOTS) {
      await page.emulateMedia({ colorScheme: 'dark' });
      await shot('run-dark.png');
      await page.emulateMedia({ colorScheme: 'light' });
    }
    if (process.env.PUMA_E2E_SCREENSHOTS)
      await page.getByTestId('run-config').screenshot({ path: path.join(process.env.PUMA_E2E_SCREENSHOTS, 'run-config.png') });

    // Clone: the Train form, filled with this run's config.
    await page.getByTestId('run-clone').click();
    await expect.poll(() => page.url()).toMatch(new RegExp(`#/train\\?clone=${runId}$`));
    await expect.poll(() => page.getByTestId('train-strategy').inputValue(), { timeout: 10_000 }).toBe('puma');
    expect(await page.getByTestId('train-epochs').inputValue()).toBe('2');
    expect(await page.getByTestId('train-eval_every').inputValue()).toBe('2');
    await shot('train-clone.png');

    // Home now shows the run and asks for a second one to compare with.
    await page.locator('nav').getByRole('link', { name: 'Home', exact: true }).click();
    await expect.poll(() => home.getAttribute('data-next')).toBe('runs');
    await expect.poll(() => page.getByTestId('home-step-runs').getAttribute('data-count')).toBe('1');
    expect(await page.getByTestId('home-latest-run').getAttribute('href')).toBe(`#/train/${runId}`);
    expect(await page.getByTestId('home-clone-run').getAttribute('href')).toBe(`#/train?clone=${runId}`);
    await shot('home.png');
  }, 360_000);
});
