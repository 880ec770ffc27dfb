/**
 * Training end to end in the browser: the laptop preset with PUMA 20 % set up on the Train page
 * (sizes shrunk so the test stays short), started, curves updating live, cancelled, resumed, and
 * the final row shown. Needs Fashion-MNIST in /usr/share/datasets (Debian's package).
 */
import fs from 'node:fs';
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

beforeAll(async () => {
  if (!haveFashion) return;
  served = await startServedApp();
  ({ app, server, page } = served);
});
afterAll(() => served?.close());

describe.skipIf(!haveFashion)('adversarial training in the browser', () => {
  it('laptop preset with PUMA 20 %: start, live curves, cancel, resume, final row', async () => {
    await page.goto(server.url + '#/train');
    await page.getByTestId('train-preset').selectOption('laptop');
    await page.getByTestId('train-strategy').selectOption('puma');
    await page.getByTestId('train-prune_ratio').fill('0.2');
    await page.getByTestId('train-epochs').fill('2');
    // `--set`-style overrides make the run tiny: a 512-sample subset, short epochs, few attack
    // and evaluation steps, a one-epoch margin model, evaluation after both epochs.
    const overrides = [
      'train_subset=512',
      'epoch_size=256',
      'batch_size=32',
      'attack_steps=2',
      'margin_model_epochs=1',
      'eval_every=1',
      'eval_subset=40',
      'eval_attack_steps=2',
      'log_every=1',
    ];
    await page.getByTestId('train-overrides').fill(overrides.join('\n'));
    await page.getByTestId('train-start').click();

    const status = page.getByTestId('train-status');
    await expect.poll(() => status.textContent(), { timeout: 60_000 }).toBe('running');
    // Live: the batch-loss curve grows while the run is running.
    const lossPoints = async () => Number(await page.getByTestId('train-loss-chart').getAttribute('data-points'));
    await expect.poll(lossPoints, { timeout: 90_000, interval: 200 }).toBeGreaterThanOrEqual(2);
    const before = await lossPoints();
    await expect.poll(lossPoints, { timeout: 30_000, interval: 200 }).toBeGreaterThan(before);

    await page.getByTestId('train-cancel').click();
    await expect.poll(() => status.textContent(), { timeout: 30_000 }).toBe('cancelled');
    const runId = Number(/#\/train\/(\d+)/.exec(page.url())![1]);
    // The cancel checkpoint reached the log through the main process (the job does not write it).
    const stoppedAt = Math.max(...app.runs.checkpoints(runId).map((c) => c.globalStep));
    expect(stoppedAt).toBeGreaterThan(0);

    await page.getByTestId('train-resume').click();
    await expect.poll(() => status.textContent(), { timeout: 90_000, interval: 500 }).toBe('finished');
    // The final row: the three accuracies and the pruned pool (PE 20 % of 512 → 410 kept).
    for (const id of ['final-clean', 'final-pgd', 'final-cw']) await expect.poll(() => page.getByTestId(id).textContent()).toMatch(/^\d+\.\d %$/);
    await expect.poll(() => page.getByTestId('final-kept').textContent()).toBe('410 / 512');
    await expect.poll(async () => Number(await page.getByTestId('train-acc-chart').getAttribute('data-points'))).toBe(2);
    const run = app.runs.get(runId);
    const result = run.result as { metrics: { clean_acc: number }; pruning: { kept: number; pool_size: number } };
    expect(result.pruning.kept).toBe(Math.round(512 * 0.8));
    for (const v of Object.values(result.metrics)) (expect(v).toBeGreaterThanOrEqual(0), expect(v).toBeLessThanOrEqual(1));
    // The loss steps continue after the cancel point: no step trained twice.
    const steps = app.runs.metrics(runId, ['train/batch_loss'])[0]!.points.map((p) => p.step);
    expect(new Set(steps).size).toBe(steps.length);
  }, 150_000);
});
