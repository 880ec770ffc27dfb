import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from './helpers';
import { ARCHITECTURES, createModel } from '../../../src-main/engine/models';

async function roundTrip(model: tf.LayersModel): Promise<tf.LayersModel> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (artifacts == null) throw new Error('nothing saved');
  return tf.loadLayersModel(tf.io.fromMemory(artifacts));
}

const small: Record<string, { width?: number; depth?: number }> = {
  'cnn-small': {},
  mlp: { width: 32 },
  resnet18: { width: 4 },
  'preact-resnet18': { width: 4 },
  wrn: { width: 1, depth: 10 },
};

describe('model registry', () => {
  it('lists the architectures', () => {
    expect([...ARCHITECTURES].sort()).toEqual(['cnn-small', 'mlp', 'preact-resnet18', 'resnet18', 'wrn']);
  });

  for (const arch of ARCHITECTURES) {
    it(`${arch}: logits shape, save/load round trip keeps outputs`, async () => {
      await useBackend('wasm');
      const model = createModel(arch, {
        inputShape: [16, 16, 3],
        numClasses: 7,
        seed: 3,
        normalization: { mean: [0.4, 0.5, 0.6], std: [0.2, 0.3, 0.4] },
        ...small[arch],
      });
      const x = tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 5);
      const y = model.predict(x) as tf.Tensor;
      expect(y.shape).toEqual([2, 7]);
      const loaded = await roundTrip(model);
      const y2 = loaded.predict(x) as tf.Tensor;
      expect(Array.from(y2.dataSync())).toEqual(Array.from(y.dataSync()));
      expect(loaded.layers.some((l) => l.getClassName() === 'PumaNormalize')).toBe(true);
      tf.dispose([x, y, y2]);
      model.dispose();
      loaded.dispose();
    });
  }

  it('reference definitions: cnn-small layer structure and resnet18 size', async () => {
    await useBackend('wasm');
    const cnn = createModel('cnn-small', { inputShape: [32, 32, 3], numClasses: 10 });
    const convs = cnn.layers.filter((l) => l.getClassName() === 'Conv2D').map((l) => l.getConfig());
    expect(convs.map((c) => [c.filters, c.strides, c.padding, c.activation])).toEqual([
      [32, [1, 1], 'same', 'relu'],
      [64, [2, 2], 'same', 'relu'],
      [64, [1, 1], 'same', 'relu'],
    ]);
    expect(cnn.outputs[0].shape).toEqual([null, 10]);
    expect(cnn.layers.find((l) => l.getClassName() === 'Dense')?.getConfig().units).toBe(128);
    const mnist = createModel('cnn-small', { inputShape: [28, 28, 1], numClasses: 10 });
    expect(mnist.inputs[0].shape).toEqual([null, 28, 28, 1]);
    const resnet = createModel('resnet18', { inputShape: [32, 32, 3], numClasses: 10 });
    // CIFAR ResNet-18 has 11.17M parameters (incl. batch-norm statistics).
    expect(resnet.countParams()).toBeGreaterThan(11.1e6);
    expect(resnet.countParams()).toBeLessThan(11.25e6);
    expect(resnet.layers.some((l) => l.getClassName() === 'MaxPooling2D')).toBe(false);
    [cnn, mnist, resnet].forEach((m) => m.dispose());
  });

  it('normalisation inside the model computes (x - mean) / std', async () => {
    await useBackend('wasm');
    const a = createModel('mlp', { inputShape: [2, 2, 1], numClasses: 3, seed: 1, normalization: { mean: [0.5], std: [0.25] } });
    const b = createModel('mlp', { inputShape: [2, 2, 1], numClasses: 3, seed: 1 });
    b.setWeights(a.getWeights());
    const x = tf.tensor4d([0.1, 0.5, 0.9, 1], [1, 2, 2, 1]);
    const ya = (a.predict(x) as tf.Tensor).dataSync();
    const yb = (b.predict(tf.div(tf.sub(x, 0.5), 0.25)) as tf.Tensor).dataSync();
    Array.from(ya).forEach((v, i) => expect(v).toBeCloseTo(yb[i], 5));
  });

  it('a seed fixes every initial weight, seed 0 included (tfjs treats 0 as "no seed" in normal samplers)', async () => {
    await useBackend('wasm');
    for (const seed of [0, 1]) {
      const [a, b] = [0, 1].map(() =>
        createModel('cnn-small', { inputShape: [12, 12, 3], numClasses: 10, seed })
          .getWeights()
          .map((w) => Array.from(w.dataSync())),
      );
      a!.forEach((w, i) => expect(w).toEqual(b![i]));
    }
    const other = createModel('cnn-small', { inputShape: [12, 12, 3], numClasses: 10, seed: 1 })
      .getWeights()[0]!
      .dataSync();
    const zero = createModel('cnn-small', { inputShape: [12, 12, 3], numClasses: 10, seed: 0 })
      .getWeights()[0]!
      .dataSync();
    expect(Array.from(zero)).not.toEqual(Array.from(other));
  });

  it('rejects bad input with clear errors', () => {
    expect(() => createModel('vgg', { inputShape: [32, 32, 3], numClasses: 10 })).toThrow(/unknown architecture 'vgg'/);
    expect(() => createModel('mlp', { inputShape: [32, 32] as unknown as [number, number, number], numClasses: 10 })).toThrow(/inputShape/);
    expect(() => createModel('mlp', { inputShape: [32, 32, 3], numClasses: 1 })).toThrow(/numClasses/);
    expect(() => createModel('mlp', { inputShape: [32, 32, 3], numClasses: 10, normalization: { mean: [0], std: [1] } })).toThrow(/per input channel/);
    expect(() => createModel('wrn', { inputShape: [32, 32, 3], numClasses: 10, depth: 27 })).toThrow(/6n\+4/);
    expect(() => createModel('mlp', { inputShape: [4, 4, 1], numClasses: 10, normalization: { mean: [0], std: [0] } })).toThrow(/std must be > 0/);
  });
});
