/**
 * The Train form in the browser: settings in words with the paper's symbols, fixed choices as
 * selects (values from the schema), problems shown at the field that caused them, and the dark
 * theme from the system preference. Takes train.png and train-dark.png when PUMA_E2E_SCREENSHOTS names a folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PumaApp } from '../../src-main/services/app';
import type { RunningServer } from '../../src-main/transport/http';
import { PRUNING_STRATEGIES } from '../../src-shared/domain/training';
import { startServedApp, type ServedApp } from '../helpers/served-app';

const haveFashion = fs.existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz');

let served: ServedApp;
let app: PumaApp;
let server: RunningServer;
let page: Page;

beforeAll(async () => {
  served = await startServedApp({ width: 1280, height: 1000 });
  ({ app, server, page } = served);
});
afterAll(() => served?.close());

// Screenshots for the README only when asked (PUMA_E2E_SCREENSHOTS=docs/screenshots): a test run leaves the tree clean.
const SHOTS = process.env.PUMA_E2E_SCREENSHOTS;

/** The luminance (0 dark … 1 light) of an element's computed background colour. */
async function luminance(page: Page, selector: string): Promise<number> {
  const rgb = await page
    .locator(selector)
    .first()
    .evaluate((el) => getComputedStyle(el).backgroundColor);
  const [r, g, b] = rgb.match(/\d+(\.\d+)?/g)!.map(Number) as [number, number, number];
  return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
}

describe('the Train form', () => {
  it('labels settings in words with the paper symbol, and offers fixed choices from the schema', async () => {
    await page.goto(server.url + '#/train');
    const field = page.getByTestId('train-prune_ratio-field');
    await expect.poll(() => field.locator('label').textContent()).toMatch(/^Pruning ratio r\s+prune_ratio$/);
    expect(await field.textContent()).toMatch(/highest margins first \(§4/);
    expect(await page.getByTestId('train-eps-field').textContent()).toMatch(/pixel scale \[0, 1\]/);
    // Every strategy of the schema, no more, as a select.
    const strategies = await page
      .getByTestId('train-strategy')
      .locator('option')
      .evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(strategies).toEqual([...PRUNING_STRATEGIES]);
    // The time it will take is told before starting, with what the estimate is based on.
    await expect
      .poll(() => page.getByTestId('train-estimate').textContent(), { timeout: 10_000 })
      .toMatch(/^\s*Estimated time: \d+ (s|min \d+ s).*training.*An estimate from the README benchmark/s);
    // Fixed choices under "All settings" are selects too.
    for (const key of ['schedule', 'margin_method', 'backend', 'nesterov', 'augment']) {
      expect(await page.getByTestId(`train-${key}`).evaluate((el) => el.tagName), key).toBe('SELECT');
    }
  });

  it('shows an invalid value at its field and an unknown override key with a suggestion, and starts nothing', async () => {
    await page.goto(server.url + '#/train');
    await page.reload(); // a fresh form (the same address does not reload by itself)
    await expect.poll(() => page.getByTestId('train-epochs').inputValue()).not.toBe('');
    const runsBefore = app.runs.list().length;
    await page.getByTestId('train-epochs').fill('1.5');
    await page.getByTestId('train-prune_ratio').fill('abc');
    await page.getByTestId('train-overrides').fill('train_subset=512\nepochz=3\nnot a setting');
    await page.getByTestId('train-start').click();

    const epochs = page.getByTestId('train-epochs-field').getByTestId('train-epochs-error');
    await expect.poll(() => epochs.textContent()).toBe('Epochs E (epochs): must be a whole number, got 1.5');
    expect(await page.getByTestId('train-prune_ratio-field').getByTestId('train-prune_ratio-error').textContent()).toBe(
      'Pruning ratio r (prune_ratio): must be a number, got "abc"',
    );
    expect(await page.getByTestId('train-epochs').getAttribute('aria-invalid')).toBe('true');
    // Fields without problems carry no message.
    expect(await page.getByTestId('train-eps-error').count()).toBe(0);
    const overrides = await page.getByTestId('train-overrides-error').textContent();
    expect(overrides).toContain("Unknown setting 'epochz' — did you mean 'epochs'?");
    expect(overrides).toContain('Line 3: "not a setting" is not of the form key=value');
    expect(overrides).not.toMatch(/Unrecognized|parseSetArg|\(root\)/);
    expect(app.runs.list().length).toBe(runsBefore);

    if (SHOTS) fs.mkdirSync(SHOTS, { recursive: true });
    if (SHOTS) await page.getByTestId('train-form').screenshot({ path: path.join(SHOTS, 'train.png') });
  });

  it('shows a problem the main process finds (a dataset that is not imported) at its field', async () => {
    await page.goto(server.url + '#/train');
    await page.reload();
    await expect.poll(() => page.getByTestId('train-dataset').inputValue()).not.toBe('');
    await page.getByTestId('train-dataset').fill('no-such-data');
    await page.getByTestId('train-start').click();
    await expect
      .poll(() => page.getByTestId('train-dataset-field').getByTestId('train-dataset-error').textContent())
      .toMatch(/^Dataset "no-such-data" is not imported/);
    expect(await page.getByTestId('train-error').count()).toBe(0);
    // "All settings" is grouped by topic.
    expect(await page.locator('details h4').allTextContents()).toEqual(expect.arrayContaining(['Margins', 'Adversarial training', 'Optimiser and schedule']));
  });

  it('follows the system dark preference', async () => {
    await page.emulateMedia({ colorScheme: 'light' });
    await page.goto(server.url + '#/train');
    await expect.poll(() => page.getByTestId('train-epochs').inputValue()).not.toBe('');
    expect(await luminance(page, 'html')).toBeGreaterThan(0.8);
    expect(await luminance(page, '[data-testid=train-form]')).toBeGreaterThan(0.8);

    await page.emulateMedia({ colorScheme: 'dark' });
    await expect.poll(() => luminance(page, 'html')).toBeLessThan(0.2);
    expect(await luminance(page, '[data-testid=train-form]')).toBeLessThan(0.2);
    expect(await luminance(page, '[data-testid=train-epochs]')).toBeLessThan(0.2);
    // Text is light on the dark surface.
    const fg = await page
      .getByTestId('train-prune_ratio-field')
      .locator('.title')
      .evaluate((el) => getComputedStyle(el).color);
    const [r, g, b] = fg.match(/\d+/g)!.map(Number) as [number, number, number];
    expect((0.2126 * r + 0.7152 * g + 0.0722 * b) / 255).toBeGreaterThan(0.7);
    if (SHOTS) await page.getByTestId('train-form').screenshot({ path: path.join(SHOTS, 'train-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('Models page: estimated time before starting, a warning when long, a subset field, the robustness note', async () => {
    await page.goto(server.url + '#/models');
    await page.reload();
    expect(await page.getByTestId('model-train-help').textContent()).toMatch(/must be adversarially robust.*PGD-AT or TRADES.*non-robust.*meaningless/);
    // The page's defaults (cnn-small, PGD, 2 epochs, all 60k images): long, and said so before starting.
    const time = page.getByTestId('model-train-estimate-time');
    await expect.poll(() => time.textContent(), { timeout: 10_000 }).toMatch(/min/);
    expect(await page.getByTestId('model-train-estimate').textContent()).toMatch(/An estimate from the README benchmark \(cnn-small on wasm/);
    expect(await page.getByTestId('model-train-long').count()).toBe(1);
    const minutes = (t: string | null) => {
      const m = /(?:(\d+) h )?(\d+) min/.exec(t ?? '')!;
      return Number(m[1] ?? 0) * 60 + Number(m[2]);
    };
    const full = minutes(await time.textContent());
    expect(full).toBeGreaterThan(10);
    // A 3000-image subset: shorter, no warning.
    await page.getByTestId('model-train-subset').fill('3000');
    await expect.poll(() => page.getByTestId('model-train-long').count()).toBe(0);
    expect(minutes(await time.textContent())).toBeLessThan(full / 3);
    // A bad subset is named at its field, and there is no estimate for it.
    await page.getByTestId('model-train-subset').fill('-5');
    await expect.poll(() => page.getByTestId('model-train-subset-error').textContent()).toBe('Training subset N (train_subset): must be at least 1, got -5');
    // Standard training: told that its margins are meaningless.
    await page.getByTestId('model-train-method').selectOption('standard');
    await expect.poll(() => page.getByTestId('model-train-standard').count()).toBe(1);
    await page.getByTestId('model-train-method').selectOption('pgd_at');
    await page.getByTestId('model-train-subset').fill('3000');
    await expect.poll(() => page.getByTestId('model-train-subset-error').count()).toBe(0);
    await expect.poll(() => time.count()).toBe(1);
    if (SHOTS) await page.getByTestId('model-train').screenshot({ path: path.join(SHOTS, 'models-train.png') });
  });

  it.skipIf(!haveFashion)('Models page: a margin-model training can be cancelled from the page', async () => {
    await page.goto(server.url + '#/models');
    await page.reload();
    await page.getByTestId('model-train-name').fill('cancel-me');
    await page.getByTestId('model-train-subset').fill('500');
    await page.getByTestId('model-train-epochs').fill('1');
    await page.getByTestId('model-train-button').click();
    const cancel = page.getByTestId('model-train-cancel');
    await cancel.waitFor({ timeout: 60_000 });
    const runId = Number(/run (\d+)/.exec((await page.getByTestId('model-train-run').textContent()) ?? '')![1]);
    expect((app.runs.get(runId).config as { train_subset: number }).train_subset).toBe(500);
    await cancel.click();
    await expect.poll(() => app.runs.get(runId).status, { timeout: 60_000 }).toBe('cancelled');
    await expect.poll(() => cancel.count()).toBe(0);
    expect(await page.getByTestId('model-train-run').textContent()).toMatch(/cancelled/);
    expect(await page.getByTestId('model-train-error').count()).toBe(0);
    // The form is free again for the next try.
    expect(await page.getByTestId('model-train-button').isEnabled()).toBe(true);
  });
});
