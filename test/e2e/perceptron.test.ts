/**
 * The walking skeleton end to end: the served UI in Chromium, a small perceptron study started
 * from the form, the progress bar moving and the chart drawing, then the run found in the Runs
 * list and reopened after a reload.
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PumaApp } from '../../src-main/services/app';
import type { RunningServer } from '../../src-main/transport/http';
import { startServedApp, type ServedApp } from '../helpers/served-app';

let served: ServedApp;
let app: PumaApp;
let server: RunningServer;
let page: Page;

beforeAll(async () => {
  served = await startServedApp({ width: 1280, height: 900 });
  ({ app, server, page } = served);
});
afterAll(() => served?.close());

describe('perceptron study in the browser', () => {
  it('configures, starts, shows progress and the chart, and reopens from the Runs list after a reload', async () => {
    await page.goto(server.url + '#/perceptron'); // the app opens on Home
    await expect.poll(() => page.getByTestId('backend').textContent()).toMatch(/compute: /);

    await page.fill('input[name=k]', '60');
    await page.fill('input[name=alphas]', '0.5, 1, 2, 4');
    await page.fill('input[name=ratios]', '0, 0.5, 0.8');
    await page.fill('input[name=seeds]', '6');
    await page.getByRole('button', { name: 'Start' }).click();

    const view = page.getByTestId('run-view');
    await view.waitFor();
    // The bar moves: some progress strictly between start and end is observed, then 100 %.
    const seen = new Set<number>();
    await expect
      .poll(
        async () => {
          seen.add(Number(await page.getByTestId('progress').getAttribute('aria-valuenow')));
          return seen.has(100);
        },
        { timeout: 120_000, interval: 50 },
      )
      .toBe(true);
    expect([...seen].some((v) => v > 0 && v < 100)).toBe(true);
    await expect.poll(() => page.getByTestId('run-status').textContent(), { timeout: 30_000 }).toBe('finished');
    // 4 α × (none + PE 0.5/0.8 + PD 0.5/0.8) = 20 points drawn.
    await expect.poll(() => page.getByTestId('perceptron-chart').getAttribute('data-points')).toBe('20');
    const runId = Number(await view.getAttribute('data-run-id'));
    if (process.env.PUMA_E2E_SCREENSHOTS) await page.screenshot({ path: path.join(process.env.PUMA_E2E_SCREENSHOTS, 'perceptron.png') });

    await page.getByRole('link', { name: 'Runs' }).click();
    const row = page.locator(`[data-testid=runs-table] tr[data-run-id="${runId}"]`);
    await expect.poll(() => row.textContent()).toMatch(/finished/);

    // A reload (a restart of the UI) finds the run in the log and reopens it.
    await page.reload();
    await row.locator('a').click();
    await expect.poll(() => page.getByTestId('run-view').getAttribute('data-run-id')).toBe(String(runId));
    await expect.poll(() => page.getByTestId('perceptron-chart').getAttribute('data-points')).toBe('20');
    expect(await page.locator('[data-testid=points-table] tbody tr').count()).toBe(20);
  });

  it('shows each invalid setting at its field, in words', async () => {
    await page.goto(server.url + '#/perceptron');
    const runsBefore = app.runs.list().length;
    await page.fill('input[name=ratios]', '0, 1.5');
    await page.fill('input[name=k]', 'many');
    await page.getByRole('button', { name: 'Start' }).click();
    const ratios = page.getByTestId('perceptron-ratios-error');
    await expect.poll(() => ratios.textContent()).toBe('Pruning ratios r (ratios), item 2: must be below 1, got 1.5');
    // The message sits inside the field it is about, next to the input.
    expect(await page.getByTestId('perceptron-ratios-field').locator('[data-testid=perceptron-ratios-error]').count()).toBe(1);
    expect(await page.getByTestId('perceptron-k-error').textContent()).toBe('Dimensions K (k): must be a whole number, got "many"');
    expect(await page.getByTestId('perceptron-alphas-error').count()).toBe(0);
    expect(app.runs.list().length).toBe(runsBefore);
    // Fixing the field clears its message on the next try.
    await page.fill('input[name=k]', '60');
    await page.fill('input[name=ratios]', '0, 0.5');
    await page.uncheck('input[name=none]');
    await page.uncheck('input[name=pe]');
    await page.uncheck('input[name=pd]');
    await page.getByRole('button', { name: 'Start' }).click();
    await expect.poll(() => page.getByTestId('perceptron-strategies-error').textContent()).toBe('Strategies (strategies): needs at least 1 value');
    expect(await page.getByTestId('perceptron-ratios-error').count()).toBe(0);
  });
});
