/** Replacements of stock wasm kernels that are slow (or wrong) on their own, and the conv backward kernels. */
import * as tf from '@tensorflow/tfjs';
import { maxPoolGradient, permute3, reluGradient, sumLeading } from '../wasm-layout';
import { requireUnitDilation, tensorOf, WASM, type KernelFunc } from './common';
import { conv2dFilterGradient, filterGradientsSkipped } from './filter-gradient';
import { conv2dInputGradient } from './input-gradient';
import { state } from './registry';

function transposeLastTwo(t: tf.Tensor): tf.Tensor {
  const r = t.rank;
  const [rows, cols] = [t.shape[r - 2], t.shape[r - 1]];
  const batch = t.size / (rows * cols);
  return permute3(t, [batch, rows, cols], [0, 2, 1], [...t.shape.slice(0, r - 2), cols, rows]);
}

export function fastBatchMatMul(original: tf.KernelConfig): KernelFunc {
  return ({ inputs, attrs = {}, backend }) => {
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    if (!transposeA && !transposeB) {
      return original.kernelFunc({ inputs, attrs, backend });
    }
    // An explicit transpose + plain matmul beats the flagged matmul by ~5-10x on wasm.
    const a = tensorOf(inputs.a);
    const b = tensorOf(inputs.b);
    const aPlain = transposeA ? transposeLastTwo(a) : a;
    const bPlain = transposeB ? transposeLastTwo(b) : b;
    try {
      return original.kernelFunc({
        inputs: { a: aPlain, b: bPlain },
        attrs: { ...attrs, transposeA: false, transposeB: false },
        backend,
      });
    } finally {
      if (aPlain !== a) aPlain.dispose();
      if (bPlain !== b) bPlain.dispose();
    }
  };
}

/**
 * Sum/Mean over the leading axes (bias and batch-norm gradients, BN statistics): wasm transposes
 * the reduced axes to the end first (~15 ms for 2M floats); a JS loop over the heap is several times faster.
 */
export function fastLeadingReduce(original: tf.KernelConfig, mean: boolean): KernelFunc {
  return ({ inputs, attrs = {}, backend }) => {
    const x = tensorOf(inputs.x);
    const { axis, keepDims } = attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const axes = [...new Set((Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + x.rank : a)))].sort((p, q) => p - q);
    const leading = axes.length > 0 && axes.length < x.rank && axes.every((a, i) => a === i);
    if (!leading || x.dtype !== 'float32') return original.kernelFunc({ inputs, attrs, backend });
    const outer = x.shape.slice(0, axes.length).reduce((p, q) => p * q, 1);
    const innerShape = x.shape.slice(axes.length);
    const inner = innerShape.reduce((p, q) => p * q, 1);
    return sumLeading(x, outer, inner, mean ? 1 / outer : 1, keepDims ? [...axes.map(() => 1), ...innerShape] : innerShape);
  };
}

/**
 * Max-pool gradient in JS (one pass over x). Stock wasm MaxPoolGrad is slower and drops the
 * gradient of windows whose values are all negative (its running max seems to start at 0); its
 * fallback (other dtypes, dilations) shifts x to be >= 1, which routes the same way.
 */
export function fastMaxPoolGrad(original: tf.KernelConfig): KernelFunc {
  return ({ inputs, attrs = {}, backend }) => {
    const x = tensorOf(inputs.input) as tf.Tensor4D;
    const dy = tensorOf(inputs.dy) as tf.Tensor4D;
    const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as {
      filterSize: [number, number] | number;
      strides: [number, number] | number;
      pad: 'same' | 'valid' | number;
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
    };
    const info = tf.backend_util.computePool2DInfo(x.shape, filterSize, strides, 1, pad, dimRoundingMode);
    const fast = maxPoolGradient(dy, x, info);
    if (fast != null) return fast;
    // (the wasm kernel recomputes the argmax from `input` alone; `output` is unused)
    const xs = tf.tidy(() => tf.add(x, tf.sub(1, tf.min(x))));
    try {
      return original.kernelFunc({ inputs: { ...inputs, input: xs }, attrs, backend });
    } finally {
      xs.dispose();
    }
  };
}

/**
 * Identity shares the input buffer (as Reshape does) instead of copying it: tfjs clones every
 * tensor it saves for the backward pass, and wasm kernels never write to their inputs.
 */
export const sharedIdentity: KernelFunc = ({ inputs, backend }) => {
  const x = inputs.x as tf.TensorInfo;
  (backend as unknown as { incRef(dataId: object): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
};

/** ReLU gradient in one pass on wasm (stock: Step + Cast + Multiply); stock elsewhere. */
export function reluGradientConfig(original: tf.GradConfig): tf.GradConfig {
  return {
    ...original,
    gradFunc: (dy, saved, attrs) => {
      const dyT = Array.isArray(dy) ? dy[0] : dy;
      if (tf.getBackend() !== WASM) return original.gradFunc(dy, saved, attrs);
      return { x: () => reluGradient(dyT, saved[0]) };
    },
  };
}

export const fastConv2DBackpropInput: KernelFunc = ({ inputs, attrs = {} }) => {
  requireUnitDilation(attrs, 'Conv2DBackpropInput');
  const inputShape = (attrs as unknown as { inputShape: [number, number, number, number] }).inputShape;
  return conv2dInputGradient(tensorOf(inputs.dy) as tf.Tensor4D, tensorOf(inputs.filter) as tf.Tensor4D, inputShape, attrs);
};

export const fastConv2DBackpropFilter: KernelFunc = ({ inputs, attrs = {} }) => {
  requireUnitDilation(attrs, 'Conv2DBackpropFilter');
  const filterShape = (attrs as unknown as { filterShape: [number, number, number, number] }).filterShape;
  if (filterGradientsSkipped()) return tf.zeros(filterShape);
  return conv2dFilterGradient(tensorOf(inputs.x) as tf.Tensor4D, tensorOf(inputs.dy) as tf.Tensor4D, filterShape, attrs, state.tuning);
};
