import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../../..');
const vendored = path.join(root, 'types/electron/electron.d.ts');

describe('vendored Electron types', () => {
  it('are the pinned Electron version', () => {
    const pinned = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).optionalDependencies.electron as string;
    const header = readFileSync(vendored, 'utf8').split('\n', 1)[0];
    expect(header).toBe(`// Type definitions for Electron ${pinned}`);
  });

  // Where npm could download Electron's binary the package stays installed; its types must be ours.
  it.runIf(existsSync(path.join(root, 'node_modules/electron/electron.d.ts')))('equal the installed package', () => {
    const installed = readFileSync(path.join(root, 'node_modules/electron/electron.d.ts'));
    expect(readFileSync(vendored).equals(installed)).toBe(true);
  });
});
