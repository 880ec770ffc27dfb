import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useBackend, makeRng, randomArray } from './helpers';
import { flipSwapFilter, permute3, sumLeading } from '../../../src-main/engine/wasm-layout';
import { withoutFilterGradients } from '../../../src-main/engine/fast-gradients';

describe('JS data movement on the wasm heap', () => {
  it('permute3 matches tf.transpose for the three supported permutations', async () => {
    await useBackend('wasm');
    const rng = makeRng('perm');
    for (const dims of [
      [3, 5, 7],
      [17, 33, 2],
      [1, 40, 19],
    ] as Array<[number, number, number]>) {
      const x = tf.tensor(randomArray(dims[0] * dims[1] * dims[2], rng), dims);
      for (const perm of [
        [2, 1, 0],
        [1, 0, 2],
        [0, 2, 1],
      ] as Array<[number, number, number]>) {
        const outShape = perm.map((p) => dims[p]);
        const fast = permute3(x, dims, perm, outShape);
        const ref = tf.transpose(x, perm);
        expect(fast.shape).toEqual(ref.shape);
        expect(Array.from(fast.dataSync())).toEqual(Array.from(ref.dataSync()));
        tf.dispose([fast, ref]);
      }
      x.dispose();
    }
    expect(() => permute3(tf.zeros([2, 3]), [2, 2, 2], [2, 1, 0], [2, 2, 2])).toThrow(/wasm-layout\.ts: dims/);
  });

  it('flipSwapFilter equals reverse + transpose of the strided taps', async () => {
    await useBackend('wasm');
    const rng = makeRng('flip');
    const w = tf.tensor4d(randomArray(4 * 3 * 5 * 6, rng), [4, 3, 5, 6]);
    for (const [k0h, k0w, sh, sw] of [
      [0, 0, 1, 1],
      [1, 0, 2, 2],
      [0, 2, 3, 1],
    ]) {
      const fast = flipSwapFilter(w, k0h, k0w, sh, sw);
      const sub = tf.stridedSlice(w, [k0h, k0w, 0, 0], [4, 3, 5, 6], [sh, sw, 1, 1]);
      const ref = tf.transpose(tf.reverse(sub, [0, 1]), [0, 1, 3, 2]);
      expect(fast.shape).toEqual(ref.shape);
      expect(Array.from(fast.dataSync())).toEqual(Array.from(ref.dataSync()));
    }
  });

  it('sumLeading sums over the first axis with a scale', async () => {
    await useBackend('wasm');
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
    expect(Array.from(sumLeading(x, 3, 2, 0.5, [1, 2]).dataSync())).toEqual([4.5, 6]);
  });

  it('withoutFilterGradients keeps input gradients and zeroes filter gradients', async () => {
    await useBackend('wasm');
    const rng = makeRng('skip');
    const x = tf.tensor4d(randomArray(2 * 6 * 6 * 3, rng), [2, 6, 6, 3]);
    const w = tf.tensor4d(randomArray(3 * 3 * 3 * 4, rng), [3, 3, 3, 4]);
    const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')));
    const [gx, gw] = tf.grads(f)([x, w]);
    const [gx2, gw2] = withoutFilterGradients(() => tf.grads(f)([x, w]));
    expect(Array.from(gx2.dataSync())).toEqual(Array.from(gx.dataSync()));
    expect(tf.max(tf.abs(gw)).dataSync()[0]).toBeGreaterThan(0);
    expect(tf.max(tf.abs(gw2)).dataSync()[0]).toBe(0);
  });
});
