import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('Electron build configuration', () => {
  it('gives electron-vite the same Electron major version as package.json pins', () => {
    // Offline installs drop the optional electron package; the build then relies on this fallback.
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { optionalDependencies: Record<string, string> };
    const pinned = pkg.optionalDependencies.electron.split('.')[0];
    const config = readFileSync('electron.vite.config.ts', 'utf8');
    expect(/ELECTRON_MAJOR_VER \?\?= '(\d+)'/.exec(config)?.[1]).toBe(pinned);
  });
});
