// The few training/attack primitives the engine benchmark and tests need.
import * as tf from '@tensorflow/tfjs';
import { withoutFilterGradients } from './fast-gradients';

/** Mean softmax cross-entropy of logits against integer labels. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const oneHot = tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1]);
    return tf.losses.softmaxCrossEntropy(oneHot, logits) as tf.Scalar;
  });
}

/** One optimiser step on the cross-entropy loss (batch norm in training mode). Returns the loss. */
export function trainStep(model: tf.LayersModel, optimizer: tf.Optimizer, x: tf.Tensor4D, labels: tf.Tensor1D): number {
  const loss = optimizer.minimize(
    () => crossEntropy(model.apply(x, { training: true }) as tf.Tensor2D, labels),
    true,
    model.trainableWeights.map((w) => w.read() as tf.Variable),
  );
  if (loss == null) throw new Error('train-step.ts: optimizer.minimize returned no loss');
  const value = loss.dataSync()[0];
  loss.dispose();
  return value;
}

/** Gradient of the cross-entropy loss w.r.t. the input (one attack step; model in inference mode). */
export function inputGradient(model: tf.LayersModel, x: tf.Tensor4D, labels: tf.Tensor1D): tf.Tensor4D {
  return withoutFilterGradients(() =>
    tf.tidy(() => {
      const g = tf.grad((input: tf.Tensor) => crossEntropy(model.apply(input, { training: false }) as tf.Tensor2D, labels));
      return g(x) as tf.Tensor4D;
    }),
  );
}

/** L-inf PGD: `steps` signed-gradient steps of size `alpha` projected to the eps ball and [0,1]. */
export function pgdLinf(model: tf.LayersModel, x: tf.Tensor4D, labels: tf.Tensor1D, eps: number, alpha: number, steps: number): tf.Tensor4D {
  let adv = tf.clone(x);
  for (let i = 0; i < steps; i++) {
    const next = tf.tidy(() => {
      const g = inputGradient(model, adv, labels);
      const stepped = tf.add(adv, tf.mul(tf.sign(g), alpha));
      return tf.clipByValue(tf.minimum(tf.maximum(stepped, tf.sub(x, eps)), tf.add(x, eps)), 0, 1) as tf.Tensor4D;
    });
    adv.dispose();
    adv = next;
  }
  return adv;
}
