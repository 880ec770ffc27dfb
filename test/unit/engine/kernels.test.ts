import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from './helpers';
import { createModel } from '../../../src-main/engine/models';
import { Sgd } from '../../../src-main/engine/training/optimizer';
import { trainStepAdversarial, type StepOptions } from '../../../src-main/engine/training/step';

// Runs one PGD-AT training step (one attack step, then the update) and lists every kernel dispatched.
async function kernelsOfTrainingStep(arch: string, inputShape: [number, number, number], width?: number): Promise<Set<string>> {
  const model = createModel(arch, { inputShape, numClasses: 10, width, seed: 1, normalization: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] } });
  const optimizer = new Sgd(
    model.trainableWeights.map((w) => w.read() as tf.Variable),
    { momentum: 0.9, nesterov: true, weightDecay: 5e-4 },
  );
  const x = tf.randomUniform([2, ...inputShape]) as tf.Tensor4D;
  const y = tf.tensor1d([3, 7], 'int32');
  const step: StepOptions = { method: 'pgd_at', eps: 8 / 255, attackSteps: 1, attackStepSize: null, beta: 0, labelSmoothing: 0, seed: 1 };
  const profile = await tf.profile(() => {
    const { loss } = trainStepAdversarial(model, optimizer, x, y, step, 0.01);
    expect(Number.isFinite(loss)).toBe(true);
  });
  tf.dispose([x, y]);
  model.dispose();
  optimizer.dispose();
  // Names ending in __op are customGrad scopes (fused ops), not kernels.
  return new Set(profile.kernels.map((k) => k.name).filter((name) => !name.endsWith('__op')));
}

describe('kernels dispatched by a training step are all registered on wasm', () => {
  for (const [arch, shape, width] of [
    ['cnn-small', [12, 12, 3], undefined],
    ['resnet18', [8, 8, 3], 8],
  ] as const) {
    it(arch, async () => {
      await useBackend('wasm'); // installs the fast kernels
      await useBackend('cpu');
      const onCpu = await kernelsOfTrainingStep(arch, [...shape], width);
      // The backward conv kernels must be in the list, else the test checks nothing useful.
      expect(onCpu.has('Conv2DBackpropFilter')).toBe(true);
      const missing = [...onCpu].filter((name) => tf.getKernel(name, 'wasm') == null);
      expect(missing).toEqual([]);
      await useBackend('wasm');
      const onWasm = await kernelsOfTrainingStep(arch, [...shape], width);
      expect([...onWasm].filter((name) => tf.getKernel(name, 'wasm') == null)).toEqual([]);
    });
  }
});
