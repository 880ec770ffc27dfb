/**
 * The Models page with PyTorch checkpoints: a DM-Improves-AT-style .pt imported through the form
 * (architecture recognised, normalisation shown), exported back as a .pt from the page, and a
 * pickle naming os.system refused with the file and the global named, no row added.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forkJobLauncher } from '../../src-main/jobs/fork-launcher';
import { PumaApp } from '../../src-main/services/app';
import { startHttpServer, type RunningServer } from '../../src-main/transport/http';
import { launchChromium } from '../helpers/browser';
import { tempDir } from '../helpers/tmp';

const FIXTURES = path.resolve('test/fixtures/pytorch');
let app: PumaApp;
let server: RunningServer;
let browser: Browser;
let page: Page;
let dir: string;
let cleanup: () => void;
const pageErrors: string[] = [];

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('puma-e2e-pytorch-'));
  // browser mode reads only the user's folders (/tmp among them): the files are copied there
  for (const f of ['preact_dm_wrapped.pt', 'bad/os_system.pt']) fs.copyFileSync(path.join(FIXTURES, f), path.join(dir, path.basename(f)));
  app = new PumaApp({ dbPath: path.join(dir, 'e2e.db'), launcher: forkJobLauncher(), mode: 'browser' });
  server = await startHttpServer({ app, staticDir: path.resolve('out/renderer') });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  app?.close();
  cleanup?.();
});

describe('PyTorch models on the Models page', () => {
  it('imports a .pt with --arch auto, shows family and normalisation, exports it back', async () => {
    await page.goto(server.url + '#/models');
    await page.getByTestId('model-path').fill(path.join(dir, 'preact_dm_wrapped.pt'));
    // the PyTorch fields appear for a .pt path
    await page.getByTestId('model-arch').waitFor();
    expect(await page.getByTestId('model-arch').inputValue()).toBe('auto');
    await page.getByTestId('model-normalize').fill('cifar10');
    await page.getByTestId('model-name').fill('dm-preact');
    await page.getByTestId('model-import-button').click();
    const row = page.getByTestId('model-row');
    await expect.poll(() => row.count(), { timeout: 30_000 }).toBe(1);
    expect(await row.textContent()).toMatch(/dm-preact.*imported.*32×32×3.*10/);
    expect(await page.getByTestId('model-pytorch').textContent()).toMatch(
      /PyTorch preact-resnet18 \(depth 18, width 4\) · normalisation mean 0\.4914, 0\.4822, 0\.4465 \/ std 0\.2471, 0\.2435, 0\.2616/,
    );

    const out = path.join(dir, 'exported.pt');
    await page.getByTestId('model-export-out').fill(out);
    await page.getByTestId('model-export-id').selectOption({ label: 'dm-preact (preact-resnet18)' });
    await page.getByTestId('model-export-button').click();
    await expect.poll(() => page.getByTestId('model-exported').count(), { timeout: 30_000 }).toBe(1);
    expect(await page.getByTestId('model-exported').textContent()).toMatch(/exported\.pt \(107 tensors\)/);
    expect(fs.statSync(out).size).toBeGreaterThan(150_000);
    expect(JSON.parse(fs.readFileSync(`${out}.json`, 'utf8'))).toMatchObject({ architecture: 'preact-resnet18', width: 4, num_classes: 10 });
  });

  it('a pickle naming os.system is refused with the file and the global named, no row added', async () => {
    await page.getByTestId('model-path').fill(path.join(dir, 'os_system.pt'));
    await page.getByTestId('model-name').fill('evil');
    await page.getByTestId('model-import-button').click();
    await expect
      .poll(() => page.getByTestId('models-error').textContent(), { timeout: 30_000 })
      .toMatch(/os_system\.pt \(data\.pkl\): the pickle names the global posix\.system/);
    expect(await page.getByTestId('model-row').count()).toBe(1);
    expect(pageErrors).toEqual([]);
  });
});
