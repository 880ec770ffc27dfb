/**
 * The paper's templates on the New experiment page: a click fills the grid and seeds over the
 * preset's values (and shows a template's arms), and the run count follows. Nothing is queued.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src-main/transport/http';
import { startServedApp, type ServedApp } from '../helpers/served-app';

let served: ServedApp;
let server: RunningServer;
let page: Page;

beforeAll(async () => {
  served = await startServedApp({ width: 1400, height: 1000 });
  ({ server, page } = served);
});
afterAll(() => served?.close());

describe('templates on the New experiment page', () => {
  it('fills the grid, seeds and arms of a template; the run count is the template’s', async () => {
    await page.goto(server.url + '#/new-experiment');
    await expect.poll(() => page.locator('select[name=preset]').inputValue()).toBe('laptop');
    const templates = page.getByTestId('templates');

    // strategies: six arms (PE+PD's two ratios set together) × 3 seeds.
    await templates.getByRole('button', { name: 'strategies' }).click();
    await expect.poll(() => page.getByTestId('run-count').textContent()).toBe('18 runs');
    expect(await page.locator('input[name=seed]').inputValue()).toBe('0, 1, 2');
    await expect.poll(() => page.getByTestId('template-arms').textContent()).toContain('strategy=pe_pd prune_ratio=0.1 pd_ratio=0.1');
    expect(await page.locator('input[name=name]').inputValue()).toBe('strategies (laptop)');

    // prune-ratios: strategy × ratio × seeds as comma lists.
    await templates.getByRole('button', { name: 'prune-ratios' }).click();
    await expect.poll(() => page.getByTestId('run-count').textContent()).toBe('24 runs');
    expect(await page.locator('input[name=prune_ratio]').inputValue()).toBe('0.1, 0.2, 0.3, 0.5');

    // eq2-eps: a plain grid, radii scaled to the laptop preset's ε = 0.1; no arms and no
    // prune_ratio list left over from the template before.
    await templates.getByRole('button', { name: 'eq2-eps' }).click();
    await expect.poll(() => page.getByTestId('run-count').textContent()).toBe('9 runs');
    expect(await page.locator('input[name=eq2_eps]').inputValue()).toBe('0.05, 0.075, 0.1');
    expect(await page.locator('input[name=strategy]').inputValue()).toBe('puma');
    expect(await page.getByTestId('template-arms').count()).toBe(0);

    // Editing a field keeps the template's grid: two seeds instead of three.
    await page.fill('input[name=seed]', '0, 1');
    await expect.poll(() => page.getByTestId('run-count').textContent()).toBe('6 runs');
  });
});
