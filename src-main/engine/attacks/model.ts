/**
 * The one shape of classifier the attacks and margin estimators use: a function from a batch of
 * images in [0, 1] ([n, h, w, c]) to logits ([n, classes]). A tf.LayersModel is adapted to it
 * in inference mode (no dropout, batch-norm uses its moving statistics).
 */
import * as tf from '@tensorflow/tfjs';

export type LogitsFn = (x: tf.Tensor4D) => tf.Tensor2D;
export type ClassifierLike = LogitsFn | tf.LayersModel;

export function toLogitsFn(model: ClassifierLike): LogitsFn {
  if (typeof model === 'function') return model;
  if (model && typeof (model as tf.LayersModel).apply === 'function') {
    const layers = model as tf.LayersModel;
    return (x) => layers.apply(x, { training: false }) as tf.Tensor2D;
  }
  throw new Error('src-main/engine/attacks/model.ts: model must be a logits function or a tf.LayersModel');
}

/** Labels as an int32 tensor of length n, validated against the number of classes when given. */
export function labelsToTensor(where: string, y: tf.Tensor1D | ArrayLike<number>, n: number): tf.Tensor1D {
  if (y instanceof tf.Tensor) {
    if (y.rank !== 1 || y.shape[0] !== n) {
      throw new Error(`${where}: labels must have shape [${n}], got [${y.shape.join(', ')}]`);
    }
    return y.dtype === 'int32' ? y.clone() : tf.cast(y, 'int32');
  }
  if (y.length !== n) throw new Error(`${where}: ${y.length} labels for ${n} samples`);
  return tf.tensor1d(Int32Array.from(y as ArrayLike<number>), 'int32');
}

export function labelsToArray(where: string, y: tf.Tensor1D | ArrayLike<number>, n: number): Int32Array {
  if (y instanceof tf.Tensor) {
    if (y.rank !== 1 || y.shape[0] !== n) {
      throw new Error(`${where}: labels must have shape [${n}], got [${y.shape.join(', ')}]`);
    }
    return Int32Array.from(y.dataSync());
  }
  if (y.length !== n) throw new Error(`${where}: ${y.length} labels for ${n} samples`);
  return Int32Array.from(y);
}

export function checkLabelRange(where: string, y: Int32Array, numClasses: number): void {
  for (let i = 0; i < y.length; i++) {
    const v = y[i]!;
    if (v < 0 || v >= numClasses) {
      throw new Error(`${where}: label ${i} = ${v} is outside [0, ${numClasses})`);
    }
  }
}

export function checkImages(where: string, x: tf.Tensor): asserts x is tf.Tensor4D {
  if (!(x instanceof tf.Tensor) || x.rank !== 4) {
    throw new Error(`${where}: x must be a rank-4 tensor [n, h, w, c]`);
  }
}
