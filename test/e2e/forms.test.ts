/**
 * The Train form in the browser: settings in words with the paper's symbols, fixed choices as
 * selects (values from the schema), problems shown at the field that caused them, and the dark
 * theme from the system preference. Takes docs/screenshots/train.png and train-dark.png.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PumaApp } from '../../src-main/services/app';
import type { RunningServer } from '../../src-main/transport/http';
import { PRUNING_STRATEGIES } from '../../src-shared/domain/training';
import { startServedApp, type ServedApp } from '../helpers/served-app';

let served: ServedApp;
let app: PumaApp;
let server: RunningServer;
let page: Page;

beforeAll(async () => {
  served = await startServedApp({ width: 1280, height: 1000 });
  ({ app, server, page } = served);
});
afterAll(() => served?.close());

const SHOTS = path.resolve('docs/screenshots');

/** The luminance (0 dark … 1 light) of an element's computed background colour. */
async function luminance(page: Page, selector: string): Promise<number> {
  const rgb = await page.locator(selector).first().evaluate((el) => getComputedStyle(el).backgroundColor);
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
    const strategies = await page.getByTestId('train-strategy').locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(strategies).toEqual([...PRUNING_STRATEGIES]);
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

    fs.mkdirSync(SHOTS, { recursive: true });
    await page.getByTestId('train-form').screenshot({ path: path.join(SHOTS, 'train.png') });
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
    const fg = await page.getByTestId('train-prune_ratio-field').locator('.title').evaluate((el) => getComputedStyle(el).color);
    const [r, g, b] = fg.match(/\d+/g)!.map(Number) as [number, number, number];
    expect((0.2126 * r + 0.7152 * g + 0.0722 * b) / 255).toBeGreaterThan(0.7);
    await page.getByTestId('train-form').screenshot({ path: path.join(SHOTS, 'train-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });
  });
});
