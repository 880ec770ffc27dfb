/**
 * electron-builder's configuration (it finds this file by name; `npm run dist` runs it through
 * scripts/dist.ts, which first checks Electron is installed, builds, and prepares native/).
 * Checked by test/unit/app/packaging.test.ts.
 */
import type { Configuration } from 'electron-builder';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterPack } from './scripts/fuses';

const root = import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname);
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { optionalDependencies: Record<string, string> };

export const ICON = 'resources/icon.png';

const config: Configuration = {
  appId: 'org.pumalab.app',
  productName: 'PUMA Lab',
  // electron is an optional dependency (offline installs drop it), so name its version here.
  electronVersion: pkg.optionalDependencies.electron,
  directories: { output: 'dist', buildResources: 'resources' },
  files: [
    'package.json',
    'out/main/**/*',
    'out/preload/**/*',
    'out/renderer/**/*',
    'resources/presets/**/*',
    // better-sqlite3 built for this Electron's ABI (scripts/electron-native.ts)
    'native/electron-*/**/*',
    '!**/*.map',
    // Node's build of better-sqlite3 and its sources: the app loads the one in native/
    '!node_modules/better-sqlite3/{build,deps,src}/**/*',
    // not needed by the packaged app: Electron itself, the tfjs-node bindings (built for Node's
    // ABI), and tsx (runs the TypeScript sources, which are not packaged)
    '!node_modules/electron/**/*',
    '!node_modules/@tensorflow/tfjs-node/**/*',
    '!node_modules/@tensorflow/tfjs-node-gpu/**/*',
    '!node_modules/{tsx,esbuild,@esbuild}/**/*',
  ],
  asar: true,
  // Native code and WebAssembly are loaded from real files beside app.asar.
  asarUnpack: ['**/*.node', '**/*.wasm'],
  // Never rebuild node_modules in place for Electron: the CLI and the tests need the Node build.
  npmRebuild: false,
  nodeGypRebuild: false,
  afterPack,
  linux: {
    target: ['AppImage', 'deb'],
    category: 'Science',
    icon: ICON,
    maintainer: 'PUMA Lab developers <puma-lab@users.noreply.github.com>',
    synopsis: 'Margin-based data pruning in adversarial training',
  },
  mac: { target: ['dmg'], category: 'public.app-category.developer-tools', icon: ICON },
  dmg: { title: 'PUMA Lab' },
  win: { target: ['nsis'], icon: ICON },
  nsis: { oneClick: false, allowToChangeInstallationDirectory: true },
};

export default config;
