/**
 * A PUMA run's margin set in the browser: the run (toy data, cpu) registers its margin model and
 * set; the Margins page lists the set with a link to the run, and `#/margins/ID` draws kept vs
 * pruned on the margin histogram, the ε_i histogram and the pruned / kept / anti-adversarial
 * galleries with true and predicted classes — asserted on what chart.js laid out.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrainRunResult } from '../../src-shared/domain/training';
import { forkJobLauncher } from '../../src-main/jobs/fork-launcher';
import { PumaApp } from '../../src-main/services/app';
import { DatasetService } from '../../src-main/services/datasets';
import { startHttpServer, type RunningServer } from '../../src-main/transport/http';
import { launchChromium } from '../helpers/browser';
import { tempDir } from '../helpers/tmp';
import { idxFile, write } from '../unit/datasets/writers';

const TRAIN = 240;
const TEST = 60;
const CLASSES = ['top', 'middle', 'bottom'];
const RATIO = 0.25;
let app: PumaApp;
let server: RunningServer;
let browser: Browser;
let page: Page;
let cleanup: () => void;
let runId: number;
let secondRunId: number;
let result: TrainRunResult;
const pageErrors: string[] = [];

beforeAll(async () => {
  const t = tempDir('puma-e2e-run-margins-');
  cleanup = t.cleanup;
  // Class k = brightest third of the image; one label in ten wrong (negative margins).
  const n = TRAIN + TEST;
  const images = new Uint8Array(n * 36);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const k = i % 3;
    labels.push(i % 10 === 0 ? (k + 1) % 3 : k);
    for (let p = 0; p < 36; p++) images[i * 36 + p] = Math.floor(p / 12) === k ? 150 + ((i * 5 + p) % 100) : 30 + ((i * 7 + p * 13) % 90);
  }
  const src = path.join(t.dir, 'toy-idx');
  write(src, 'train-images-idx3-ubyte', idxFile([TRAIN, 6, 6], images.subarray(0, TRAIN * 36)));
  write(src, 'train-labels-idx1-ubyte', idxFile([TRAIN], Uint8Array.from(labels.slice(0, TRAIN))));
  write(src, 't10k-images-idx3-ubyte', idxFile([TEST, 6, 6], images.subarray(TRAIN * 36)));
  write(src, 't10k-labels-idx1-ubyte', idxFile([TEST], Uint8Array.from(labels.slice(TRAIN))));
  app = new PumaApp({ dbPath: path.join(t.dir, 'e2e.db'), launcher: forkJobLauncher(), mode: 'browser' });
  await new DatasetService(app.db, app.dataDir).importDataset({ path: src, name: 'toy', classNames: CLASSES });
  const config = {
    dataset: 'toy',
    arch: 'mlp',
    width: 16,
    depth: 1,
    method: 'pgd_at',
    eps: 0.1,
    attack_steps: 1,
    batch_size: 40,
    lr: 0.05,
    epochs: 1,
    strategy: 'puma',
    prune_ratio: RATIO,
    margin_model_epochs: 2,
    margin_method: 'fast',
    eval_subset: 60,
    eval_attack_steps: 1,
    backend: 'cpu',
    workers: 1,
  };
  ({ runId } = await app.training.start(config, 'PUMA on toy'));
  const status = await app.runner.waitFor(runId);
  if (status !== 'finished') throw new Error(`the PUMA run ended ${status}: ${app.runs.get(runId).error}`);
  result = app.runs.get(runId).result as TrainRunResult;
  // A second run with a higher ratio reuses the same set (cached margins).
  ({ runId: secondRunId } = await app.training.start({ ...config, prune_ratio: 0.5 }, 'PUMA 50 % on toy'));
  if ((await app.runner.waitFor(secondRunId)) !== 'finished') throw new Error(`the second run ended ${app.runs.get(secondRunId).status}`);

  server = await startHttpServer({ app, staticDir: path.resolve('out/renderer') });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 1500 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
  app?.close();
  cleanup?.();
});

describe("a PUMA run's margin set in the browser", () => {
  it('is listed with the run that made it, and opens with kept vs pruned, ε_i and the galleries drawn', async () => {
    const setId = result.margin_set_id!;
    expect(setId).toEqual(expect.any(Number));
    await page.goto(`${server.url}#/margins`);
    const row = page.getByTestId('margin-set-row');
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toMatch(/toy\/train.*mlp margin model \(run \d+\).*fast.*240/);
    const runLink = row.getByTestId('margin-set-run').locator('a');
    expect(await runLink.getAttribute('href')).toBe(`#/train/${runId}`);

    await row.getByTestId('margin-set-show').click();
    await expect.poll(() => page.evaluate(() => location.hash)).toBe(`#/margins/${setId}`);
    const summary = page.getByTestId('selection-summary');
    await summary.waitFor({ timeout: 30_000 });
    const pruned = Math.round(RATIO * TRAIN);
    expect(await page.getByTestId('selection-kept').textContent()).toBe(String(TRAIN - pruned));
    expect(await page.getByTestId('selection-pruned').textContent()).toBe(String(pruned));
    expect(await page.getByTestId('selection-anti').textContent()).toBe(String(result.pruning!.anti_adversarial));
    expect(result.pruning!.anti_adversarial).toBeGreaterThan(0);

    // Kept and pruned drawn as two datasets over the same bins, with their exact totals.
    const hist = page.getByTestId('selection-histogram');
    await expect.poll(() => hist.getAttribute('data-datasets')).toBe('2');
    expect(await hist.getAttribute('data-kept')).toBe(String(TRAIN - pruned));
    expect(await hist.getAttribute('data-pruned')).toBe(String(pruned));
    expect(Number(await hist.getAttribute('data-bars'))).toBe(2 * 60);
    // The pruned bars sit to the right of the kept ones (PUMA prunes the highest margins).
    const radius = page.getByTestId('radius-histogram');
    expect(await radius.getAttribute('data-total')).toBe(String(TRAIN - pruned));
    expect(Number(await radius.getAttribute('data-bars'))).toBe(40);

    for (const [id, count] of [
      ['gallery-pruned', 12],
      ['gallery-kept', 12],
      ['gallery-anti', Math.min(12, result.pruning!.anti_adversarial)],
    ] as const) {
      const images = page.getByTestId(id).getByTestId('margin-image');
      expect(await images.count(), id).toBe(count);
      // True class first, then the margin model's prediction.
      const caption = (await images.first().locator('figcaption').textContent())!;
      expect(
        CLASSES.some((c) => caption.startsWith(c)),
        caption,
      ).toBe(true);
      expect(caption).toMatch(/→ (top|middle|bottom)/);
    }
    const anti = await page
      .getByTestId('gallery-anti')
      .getByTestId('margin-image')
      .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-radius'))));
    for (const r of anti) expect(r).toBeLessThan(0);
    const prunedMargins = await page
      .getByTestId('gallery-pruned')
      .getByTestId('margin-image')
      .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-margin'))));
    const keptMargins = await page
      .getByTestId('gallery-kept')
      .getByTestId('margin-image')
      .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-margin'))));
    expect(Math.min(...prunedMargins)).toBeGreaterThanOrEqual(Math.max(...keptMargins));
    expect(pageErrors).toEqual([]);

    const shots = process.env.PUMA_E2E_SCREENSHOTS;
    if (shots) {
      fs.mkdirSync(shots, { recursive: true });
      await page.screenshot({ path: path.join(shots, 'margins.png'), fullPage: true });
    }
  });

  it('lists the margin model on the Margin models page with the run that trained it and its margin set', async () => {
    await page.goto(`${server.url}#/models`);
    const row = page.getByTestId('model-row');
    await expect.poll(() => row.count()).toBe(1);
    const provenance = row.getByTestId('model-provenance');
    expect(await provenance.textContent()).toMatch(new RegExp(`trained by\\s+run #${runId}\\s+for its margins`));
    expect(await provenance.locator('a').evaluateAll((els) => els.map((e) => e.getAttribute('href')))).toEqual([
      `#/train/${runId}`,
      `#/margins/${result.margin_set_id}`,
    ]);
  });

  it("shows another run's selection of the same set on request", async () => {
    await page.goto(`${server.url}#/margins/${result.margin_set_id}`);
    await page.getByTestId('selection-summary').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('margin-set-row').textContent()).toMatch(/2 train runs used it/);
    const other = page.getByTestId('selection-other-run');
    expect(await other.textContent()).toBe(`run #${secondRunId}`);
    await other.click();
    await expect.poll(() => page.getByTestId('selection-kept').textContent()).toBe(String(TRAIN / 2));
    const hist = page.getByTestId('selection-histogram');
    await expect.poll(() => hist.getAttribute('data-pruned')).toBe(String(TRAIN / 2));
    expect(await page.getByTestId('selection-summary').textContent()).toMatch(/PUMA 50 % on toy/);
  });

  it('opens straight from the run page link #/margins/ID', async () => {
    await page.goto(`${server.url}#/train`);
    await page.goto(`${server.url}#/margins/${result.margin_set_id}`);
    await page.getByTestId('selection-summary').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('selection-summary').textContent()).toMatch(new RegExp(`PUMA, pruning ratio r = ${RATIO}`));
    expect(await page.getByTestId('margin-set-row').first().getAttribute('class')).toMatch(/selected/);
  });
});
