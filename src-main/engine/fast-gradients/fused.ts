/** Conv + bias + ReLU as one kernel on wasm (XNNPACK's fused forward) with fast gradients. */
import * as tf from '@tensorflow/tfjs';
import { reluGradient, reluGradientAndBiasSum } from '../wasm-layout';
import { WASM, type KernelFunc } from './common';
import { conv2dFilterGradient, filterGradientsSkipped } from './filter-gradient';
import { conv2dInputGradient } from './input-gradient';
import { state } from './registry';

/** Kernel (wasm only) of a conv + bias + ReLU that keeps XNNPACK's fused forward under a gradient tape. */
export const CONV2D_BIAS_RELU_KERNEL = 'PumaConv2DBiasRelu';

interface ConvBiasReluAttrs {
  strides: [number, number];
  pad: 'same' | 'valid';
}

export const conv2dBiasReluKernel: KernelFunc = ({ inputs, attrs = {}, backend }) => {
  const fused = tf.getKernel('FusedConv2D', WASM);
  if (fused == null) throw new Error('fast-gradients: the wasm FusedConv2D kernel is missing');
  const { strides, pad } = attrs as unknown as ConvBiasReluAttrs;
  return fused.kernelFunc({
    inputs: { x: inputs.x, filter: inputs.filter, bias: inputs.bias },
    attrs: {
      strides,
      pad,
      dataFormat: 'NHWC',
      dilations: [1, 1],
      dimRoundingMode: undefined as unknown as string,
      activation: 'relu',
    } as unknown as tf.NamedAttrMap,
    backend,
  });
};

/**
 * Gradient of conv + bias + ReLU: the ReLU mask comes from the saved output (relu(z) > 0 exactly
 * when z > 0), then the fast wasm conv gradients; the engine asks only for the inputs it needs
 * (no dx for the first layer, no dW inside withoutFilterGradients).
 */
export const conv2dBiasReluGradient: tf.GradConfig = {
  kernelName: CONV2D_BIAS_RELU_KERNEL,
  inputsToSave: ['x', 'filter'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter, y] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
    const dyT = Array.isArray(dy) ? dy[0] : dy;
    // mask and bias sum in one pass where the SIMD kernels run (unused results are freed by the engine's backward tidy)
    const fused = reluGradientAndBiasSum(dyT, y);
    const dyPre = (fused?.[0] ?? reluGradient(dyT, y)) as tf.Tensor4D;
    const { strides, pad } = attrs as unknown as ConvBiasReluAttrs;
    const convAttrs = { strides, pad, dataFormat: 'NHWC', dimRoundingMode: undefined } as unknown as tf.NamedAttrMap;
    return {
      x: () => conv2dInputGradient(dyPre, filter, x.shape, convAttrs),
      filter: () => (filterGradientsSkipped() ? tf.zeros(filter.shape) : conv2dFilterGradient(x, dyPre, filter.shape, convAttrs, state.tuning)),
      bias: () => fused?.[1] ?? tf.sum(dyPre, [0, 1, 2]),
    };
  },
};

/**
 * relu(conv2d(x, filter) + bias) (NHWC, no dilation) through one fused kernel on wasm with fast
 * gradients; the stock ops elsewhere (tfjs runs conv, add and relu unfused whenever a gradient
 * tape is on, and their backward passes one more tensor).
 */
export function conv2dBiasRelu(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D, strides: [number, number], pad: 'same' | 'valid'): tf.Tensor4D {
  if (!state.installed || tf.getBackend() !== WASM || x.dtype !== 'float32') {
    return tf.tidy(() => tf.relu(tf.add(tf.conv2d(x, filter, strides, pad), bias)) as tf.Tensor4D);
  }
  const attrs: ConvBiasReluAttrs = { strides, pad };
  return tf.engine().runKernel(CONV2D_BIAS_RELU_KERNEL, { x, filter, bias }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}
