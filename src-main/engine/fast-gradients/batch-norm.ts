/** The batch-norm gradient on wasm. */
import * as tf from '@tensorflow/tfjs';
import { WASM } from './common';

/**
 * FusedBatchNorm gradient without Tile (the stock gradient tiles 1/sqrt(var) to the full input
 * shape, slow on wasm); reductions over the leading axes go to the fast Sum. Other backends keep
 * the stock gradient.
 */
export function batchNormGradient(original: tf.GradConfig): tf.GradConfig {
  return {
    ...original,
    gradFunc: (dy, saved, attrs) => {
      const [x, mean, variance, scale] = saved;
      if (tf.getBackend() !== WASM || mean.rank !== 1 || x.rank < 2) return original.gradFunc(dy, saved, attrs);
      const dyT = Array.isArray(dy) ? dy[0] : dy;
      const eps = (attrs as { varianceEpsilon: number }).varianceEpsilon;
      const axes = x.shape.slice(0, -1).map((_, i) => i);
      const rsqrtVar = tf.rsqrt(tf.add(variance, eps));
      const gain = scale == null ? rsqrtVar : tf.mul(rsqrtVar, scale);
      const centered = () => tf.sub(x, mean);
      const dySum = () => tf.sum(dyT, axes);
      return {
        x: () => tf.mul(dyT, gain),
        mean: () => tf.neg(tf.mul(dySum(), gain)),
        variance: () => tf.mul(tf.sum(tf.mul(dyT, centered()), axes), tf.mul(tf.mul(gain, tf.square(rsqrtVar)), -0.5)),
        scale: () => tf.mul(tf.sum(tf.mul(dyT, centered()), axes), rsqrtVar),
        offset: dySum,
      };
    },
  };
}
