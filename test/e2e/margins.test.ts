/**
 * Margins end to end in the browser: a small model and dataset imported through the services,
 * the model listed on the Margin models page, then a fast-margin job started from the Margins page:
 * the progress bar reaches 100 %, the histogram shows every sample with ±ε marked, and the galleries
 * show the lowest- and highest-margin images with their labels.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forkJobLauncher } from '../../src-main/jobs/fork-launcher';
import { PumaApp } from '../../src-main/services/app';
import { DatasetService } from '../../src-main/services/datasets';
import { fileSaveHandler, ModelService } from '../../src-main/services/models';
import { startHttpServer, type RunningServer } from '../../src-main/transport/http';
import { launchChromium } from '../helpers/browser';
import { tempDir } from '../helpers/tmp';
import { int64Labels, npyFile, write, zipFile } from '../unit/datasets/writers';

const N = 240;
const SHAPE = [6, 6, 1] as const;
const CLASSES = ['top', 'middle', 'bottom'];
let app: PumaApp;
let server: RunningServer;
let browser: Browser;
let page: Page;
let cleanup: () => void;
let images: Uint8Array;
const pageErrors: string[] = [];

beforeAll(async () => {
  await tf.setBackend('cpu');
  const t = tempDir('puma-e2e-margins-');
  cleanup = t.cleanup;
  // Class k = brightest third of the image; one label in eight wrong (negative margins).
  images = new Uint8Array(N * 36);
  const labels: number[] = [];
  for (let i = 0; i < N; i++) {
    const k = i % 3;
    labels.push(i % 8 === 0 ? (k + 1) % 3 : k);
    for (let p = 0; p < 36; p++) images[i * 36 + p] = Math.floor(p / 12) === k ? 150 + ((i * 5 + p) % 100) : 30 + ((i * 7 + p * 13) % 90);
  }
  const npz = write(t.dir, 'toy.npz', zipFile({ 'image.npy': npyFile('|u1', [N, ...SHAPE], images), 'label.npy': npyFile('<i8', [N], int64Labels(labels)) }));
  app = new PumaApp({ dbPath: path.join(t.dir, 'e2e.db'), launcher: forkJobLauncher(), mode: 'browser' });
  const datasets = new DatasetService(app.db, app.dataDir);
  await datasets.importDataset({ path: npz, name: 'toy', classNames: CLASSES });

  const model = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [...SHAPE] }),
      tf.layers.dense({ units: 12, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.05), loss: tf.losses.softmaxCrossEntropy });
  const x = tf.tensor4d(
    Float32Array.from(images, (v) => v / 255),
    [N, ...SHAPE],
  );
  await model.fit(x, tf.oneHot(tf.tensor1d(labels, 'int32'), 3).toFloat(), { epochs: 10, batchSize: 48, verbose: 0, shuffle: false });
  await model.save(fileSaveHandler(path.join(t.dir, 'toy-mlp')));
  await new ModelService(app.db, app.dataDir, datasets).importModel({ path: path.join(t.dir, 'toy-mlp'), name: 'toy-mlp' });

  server = await startHttpServer({ app, staticDir: path.resolve('out/renderer') });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 1200 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  app?.close();
  cleanup?.();
});

describe('margins in the browser', () => {
  it('lists the margin model and offers training one', async () => {
    await page.goto(server.url + '#/models');
    const row = page.getByTestId('model-row');
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toMatch(/toy-mlp.*imported.*6×6×1/);
    await page.getByTestId('model-train').waitFor();
    expect(
      await page
        .getByTestId('model-train-arch')
        .locator('option')
        .evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value)),
    ).toContain('cnn-small');
    if (process.env.PUMA_E2E_SCREENSHOTS) await page.screenshot({ path: path.join(process.env.PUMA_E2E_SCREENSHOTS, 'models.png'), fullPage: true });
  });

  it('starts a fast-margin job: progress to 100 %, histogram with ±ε, galleries with labels', async () => {
    await page.goto(server.url + '#/margins');
    await expect.poll(() => page.getByTestId('margins-model').locator('option').allTextContents()).toEqual(['toy-mlp']);
    await page.getByTestId('margins-dataset').selectOption({ label: 'toy' });
    await page.getByTestId('margins-method').selectOption('fast');
    await page.getByTestId('margins-eps').fill('0.05');
    await page.getByLabel('Worker processes').fill('1');
    await page.getByTestId('margins-start').click();

    await expect.poll(() => page.getByTestId('progress').getAttribute('aria-valuenow'), { timeout: 60_000, interval: 100 }).toBe('100');
    const histogram = page.getByTestId('margin-histogram');
    await histogram.waitFor({ timeout: 30_000 });
    expect(await histogram.getAttribute('data-total')).toBe(String(N));
    expect(await histogram.getAttribute('data-eps')).toBe('0.05');
    expect(Number(await histogram.getAttribute('data-bins'))).toBe(60);
    // chart.js laid the bars out (it fails on reactive arrays, leaving a blank canvas).
    await expect.poll(() => histogram.getAttribute('data-bars')).toBe('60');
    await expect.poll(() => page.getByTestId('margins-error').count()).toBe(0);

    const galleries = page.getByTestId('margin-gallery');
    expect(await galleries.count()).toBe(2);
    const lowest = await galleries
      .nth(0)
      .getByTestId('margin-image')
      .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-margin'))));
    const highest = await galleries
      .nth(1)
      .getByTestId('margin-image')
      .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-margin'))));
    expect(lowest).toHaveLength(12);
    expect(highest).toHaveLength(12);
    // Sorted: lowest ascending, highest descending, and every lowest ≤ every highest.
    expect([...lowest].sort((a, b) => a - b)).toEqual(lowest);
    expect([...highest].sort((a, b) => b - a)).toEqual(highest);
    expect(Math.max(...lowest)).toBeLessThanOrEqual(Math.min(...highest));
    // Mislabelled samples give negative margins; the captions carry the class names.
    expect(lowest[0]).toBeLessThan(0);
    const captions = await galleries.nth(0).locator('figcaption').allTextContents();
    for (const c of captions) expect(CLASSES.some((name) => c.startsWith(name))).toBe(true);
    if (process.env.PUMA_E2E_SCREENSHOTS) await page.screenshot({ path: path.join(process.env.PUMA_E2E_SCREENSHOTS, 'margins-job.png'), fullPage: true });
    // Each thumbnail shows its sample's pixels (grey: R = G = B = the stored byte).
    const firstCaption = (await galleries.nth(1).locator('figcaption').first().textContent())!;
    const index = Number(/#(\d+)/.exec(firstCaption)![1]);
    const drawn = await galleries
      .nth(1)
      .locator('canvas')
      .first()
      .evaluate((c: HTMLCanvasElement) => Array.from(c.getContext('2d')!.getImageData(0, 0, 6, 6).data));
    expect(drawn.filter((_, q) => q % 4 === 0)).toEqual(Array.from(images.subarray(index * 36, (index + 1) * 36)));
    expect(pageErrors).toEqual([]);
    // The set is listed as complete with its summary.
    const setRow = page.getByTestId('margin-set-row');
    expect(await setRow.count()).toBe(1);
    expect(await setRow.textContent()).toMatch(/toy\/train.*toy-mlp.*fast.*1 \/ 1/);
  });
});
