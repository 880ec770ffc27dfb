import { defineConfig } from 'electron-vite';
import { resolve } from 'node:path';
import { rendererConfig } from './vite.renderer.config';
import { PROCESS_ENTRIES } from './src-main/processes';

// Electron is an optional dependency (its binary cannot be downloaded offline): give the build
// its major version so `electron-vite build` works without node_modules/electron.
process.env.ELECTRON_MAJOR_VER ??= '40';

// Native and heavy modules stay external: better-sqlite3 loads its Electron-ABI build from
// native/ (src-main/store/native-binding.ts), tfjs backends load their own binaries at run time.
const external = ['better-sqlite3', '@tensorflow/tfjs', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-backend-wasm'];

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      rollupOptions: {
        input: {
          index: resolve(import.meta.dirname, 'src-main/app/main.ts'),
          // The job process and the workers jobs fork (src-main/processes.ts finds them by these names).
          ...Object.fromEntries(Object.entries(PROCESS_ENTRIES).map(([name, file]) => [name, resolve(import.meta.dirname, 'src-main', file)])),
        },
        // Flat output: code that forks a sibling entry finds it beside itself.
        output: { chunkFileNames: '[name]-[hash].js' },
        external,
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      rollupOptions: {
        input: { index: resolve(import.meta.dirname, 'src-main/app/preload.ts') },
        // A sandboxed preload must be CommonJS.
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    ...rendererConfig,
    build: {
      ...rendererConfig.build,
      rollupOptions: { input: resolve(import.meta.dirname, 'src-renderer/index.html') },
    },
  },
});
