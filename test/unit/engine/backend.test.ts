import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { parseBackendChoice, resolveBackend } from '../../../src-main/engine/backend';
import { initEngine } from '../../../src-main/engine';
import { fastGradientsInstalled } from '../../../src-main/engine/fast-gradients';

/** Whether this machine has tfjs-node (an optional dependency): decides which ladder test applies. */
const nativeInstalled = await import(/* @vite-ignore */ ['@tensorflow', 'tfjs-node'].join('/')).then(
  () => true,
  () => false,
);

describe('backend resolution', () => {
  it('parses the override spellings and rejects unknown ones', () => {
    expect(parseBackendChoice('WASM')).toBe('wasm');
    expect(parseBackendChoice('tfjs-node-gpu')).toBe('node-gpu');
    expect(parseBackendChoice('tensorflow')).toBe('node');
    expect(() => parseBackendChoice('webgpu', 'PUMA_BACKEND')).toThrow(/unknown PUMA_BACKEND 'webgpu'/);
  });

  it('an explicit cpu override sets the cpu backend', async () => {
    const info = await resolveBackend('cpu');
    expect(info.backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(info.versions['tfjs-core']).toBe(tf.version_core);
  });

  // Where tfjs-node is installed the ladder stops there and never reaches the wasm fallback.
  it.skipIf(nativeInstalled)(
    'the ladder falls through the native backends that are not installed to wasm, saying why (not where tfjs-node is installed)',
    async () => {
      const saved = process.env.PUMA_BACKEND;
      delete process.env.PUMA_BACKEND;
      try {
        const info = await initEngine();
        expect(info.backend).toBe('wasm');
        expect(tf.getBackend()).toBe('wasm');
        expect(info.device).toMatch(/wasm/);
        expect(info.notes.some((n) => n.includes('tfjs-node not available'))).toBe(true);
        expect(fastGradientsInstalled()).toBe(true);
        expect(info.versions['tfjs-backend-wasm']).toBe('4.22.0');
      } finally {
        if (saved != null) process.env.PUMA_BACKEND = saved;
      }
    },
  );

  it.runIf(nativeInstalled)('the ladder stops at tfjs-node where it is installed', async () => {
    const saved = process.env.PUMA_BACKEND;
    delete process.env.PUMA_BACKEND;
    try {
      const info = await initEngine();
      expect(info.backend).toBe('tensorflow');
      expect(tf.getBackend()).toBe('tensorflow');
    } finally {
      if (saved != null) process.env.PUMA_BACKEND = saved;
    }
  });

  it('PUMA_BACKEND is honoured and an unavailable requested backend throws a clear error', async () => {
    const saved = process.env.PUMA_BACKEND;
    process.env.PUMA_BACKEND = 'cpu';
    try {
      expect((await resolveBackend()).backend).toBe('cpu');
    } finally {
      if (saved == null) delete process.env.PUMA_BACKEND;
      else process.env.PUMA_BACKEND = saved;
    }
    await expect(resolveBackend('bogus')).rejects.toThrow(/backend\.ts: unknown backend 'bogus'/);
  });
});
