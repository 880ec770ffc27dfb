/** What the fast wasm kernels share: kernel types, conv geometry, and input checks. */
import * as tf from '@tensorflow/tfjs';

export type KernelFunc = tf.KernelConfig['kernelFunc'];
export type Backend = Parameters<KernelFunc>[0]['backend'];

export const WASM = 'wasm';

/** [before, after] amounts per axis; negative amounts crop instead of padding. */
export function padOrCrop4d(x: tf.Tensor4D, amounts: Array<[number, number]>): tf.Tensor4D {
  const needsCrop = amounts.some(([a, b]) => a < 0 || b < 0);
  const needsPad = amounts.some(([a, b]) => a > 0 || b > 0);
  let y = x;
  if (needsCrop) {
    const begin = amounts.map(([a]) => Math.max(0, -a));
    const size = amounts.map(([a, b], i) => y.shape[i] - Math.max(0, -a) - Math.max(0, -b));
    y = tf.slice(y, begin, size);
  }
  if (needsPad) {
    y = tf.pad(
      y,
      amounts.map(([a, b]) => [Math.max(0, a), Math.max(0, b)] as [number, number]),
    );
  }
  return y;
}

export function convInfo(
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: tf.NamedAttrMap,
): tf.backend_util.Conv2DInfo {
  const { strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as {
    strides: [number, number] | number;
    pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  if (dataFormat != null && dataFormat !== 'NHWC') {
    throw new Error(`fast-gradients: only NHWC convolutions are supported, got ${dataFormat}`);
  }
  return tf.backend_util.computeConv2DInfo(xShape, filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
}

export function tensorOf(info: tf.TensorInfo | undefined): tf.Tensor {
  if (info == null) throw new Error('fast-gradients: a kernel input is missing');
  // Kernel inputs are Tensors when called through the engine.
  return info as unknown as tf.Tensor;
}

export function requireUnitDilation(attrs: tf.NamedAttrMap, kernel: string): void {
  const d = (attrs as { dilations?: number | number[] }).dilations;
  const ds = d == null ? [1] : Array.isArray(d) ? d : [d];
  if (ds.some((v) => v !== 1)) {
    throw new Error(`fast-gradients: ${kernel} with dilations ${JSON.stringify(d)} is not supported on wasm`);
  }
}
