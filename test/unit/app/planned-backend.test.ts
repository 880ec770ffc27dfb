/**
 * The backend the main process plans for jobs (without loading TensorFlow.js) reads the same
 * names and spellings as the engine: src-shared/domain/backends.ts.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { parseBackendChoice } from '../../../src-main/engine/backend';
import { plannedBackend } from '../../../src-main/services/system';
import { BACKEND_ALIASES, BACKEND_CHOICES } from '../../../src-shared/domain/backends';
import { TrainConfig } from '../../../src-shared/domain/training';

const gpuInstalled = (() => {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node-gpu');
    return true;
  } catch {
    return false;
  }
})();

describe('planned backend', () => {
  it('takes PUMA_BACKEND by any spelling of an installed choice', () => {
    expect(plannedBackend('cpu')).toEqual({ backend: 'cpu', device: 'cpu', notes: ['chosen by PUMA_BACKEND'] });
    expect(plannedBackend('wasm').backend).toBe('wasm');
  });

  it.skipIf(gpuInstalled)('names the package of a requested backend that is not installed, and falls down the ladder (where tfjs-node-gpu is not)', () => {
    const p = plannedBackend('tfjs-node-gpu');
    expect(p.notes[0]).toBe('PUMA_BACKEND=node-gpu, but @tensorflow/tfjs-node-gpu is not installed.');
    expect(BACKEND_CHOICES).toContain(p.backend);
  });

  it('ignores an unknown name, listing the choices', () => {
    expect(plannedBackend('webgpu').notes[0]).toBe('PUMA_BACKEND=webgpu is not one of node-gpu, node, wasm, cpu; ignored.');
  });

  it('every alias is a choice the engine and a training config accept', () => {
    for (const [spelling, choice] of Object.entries(BACKEND_ALIASES)) {
      expect(parseBackendChoice(spelling)).toBe(choice);
      expect(TrainConfig.parse({ backend: choice }).backend).toBe(choice);
    }
    expect(new Set(Object.values(BACKEND_ALIASES))).toEqual(new Set(BACKEND_CHOICES));
  });
});
