/**
 * Pages release their event subscriptions when they go: walking every page of the sidebar ten
 * times leaves as many live event listeners as Home had on its own (the client shows the count
 * as <html data-event-listeners>). A page whose state forgot to unsubscribe adds its listeners
 * on every visit, and the count grows with the rounds.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src-main/transport/http';
import { startServedApp, type ServedApp } from '../helpers/served-app';

let served: ServedApp;
let server: RunningServer;
let page: Page;

beforeAll(async () => {
  served = await startServedApp();
  ({ server, page } = served);
});
afterAll(() => served?.close());

const ROUNDS = 10;

async function liveListeners(): Promise<number> {
  return Number(await page.locator('html').getAttribute('data-event-listeners'));
}

/** The sidebar's pages, read from the app itself so a new page is walked too. */
async function sidebarPages(): Promise<string[]> {
  return page.locator('nav a').evaluateAll((as) => as.map((a) => a.getAttribute('href') ?? ''));
}

describe('event subscriptions', () => {
  it(`stay constant over ${ROUNDS} walks through every page`, async () => {
    await page.goto(server.url + '#/home');
    await expect.poll(() => page.getByTestId('backend').textContent()).toMatch(/compute: /);
    await expect.poll(liveListeners).toBeGreaterThan(0);
    const onHome = await liveListeners();
    const sidebar = await sidebarPages();
    expect(sidebar).toEqual(expect.arrayContaining(['#/train', '#/perceptron', '#/datasets', '#/models', '#/margins', '#/runs']));
    // A run's own pages subscribe most (progress, metrics, status, result): a small perceptron run.
    const runId = await page.evaluate(async () => {
      const config = { k: 20, alphas: [1], ratios: [0], seeds: 1 };
      const r = await fetch('./api/perceptron.start', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ config }) });
      return ((await r.json()) as { result: { runId: number } }).result.runId;
    });
    expect(runId).toBeGreaterThan(0);
    const runPages = new Map([
      [`#/train/${runId}`, `[data-testid=train-run][data-run-id="${runId}"]`],
      [`#/perceptron/${runId}`, `[data-testid=run-view][data-run-id="${runId}"]`],
    ]);
    const hrefs = [...sidebar, ...runPages.keys()];

    for (let round = 0; round < ROUNDS; round++) {
      for (const href of hrefs) {
        if (sidebar.includes(href)) await page.locator(`nav a[href="${href}"]`).click();
        else await page.evaluate((h) => (location.hash = h), href);
        await expect.poll(() => page.evaluate(() => location.hash)).toBe(href);
        await page
          .locator(runPages.get(href) ?? 'main h2')
          .first()
          .waitFor();
      }
      await page.locator('nav a[href="#/home"]').click();
      await page.locator('main h2').first().waitFor();
      // Effects (and their cleanups) run after the DOM update: poll until the count settles.
      await expect.poll(liveListeners, { message: `live listeners back on Home after round ${round + 1}` }).toBe(onHome);
    }
  });
});
