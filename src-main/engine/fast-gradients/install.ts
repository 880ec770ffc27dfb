/**
 * Installs the fast backward kernels on the tfjs 'wasm' backend (and restores the stock ones).
 *
 * Stock tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter at all, a slow Conv2DBackpropInput,
 * and a BatchMatMul that is ~10x slower with transpose flags (which every MatMul gradient uses).
 * We re-register these kernels on 'wasm' and express them through the fast XNNPACK forward conv
 * and plain (flag-free) matmul. Kernels may be written with tf ops: the engine does not record
 * ops run inside a kernel on the gradient tape, and accepts a Tensor as a kernel's output.
 */
import * as tf from '@tensorflow/tfjs';
import { WASM } from './common';
import { batchNormGradient } from './batch-norm';
import { CONV2D_BIAS_RELU_KERNEL, conv2dBiasReluGradient, conv2dBiasReluKernel } from './fused';
import { originalKernels, patchedGradients, state } from './registry';
import {
  fastBatchMatMul,
  fastConv2DBackpropFilter,
  fastConv2DBackpropInput,
  fastLeadingReduce,
  fastMaxPoolGrad,
  reluGradientConfig,
  sharedIdentity,
} from './simple-kernels';
import { filterGradientTuning, type FilterGradientTuning } from './tuning';

/** Kernels this module replaces (or adds) on the wasm backend. */
export const FAST_WASM_KERNELS = ['BatchMatMul', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'Sum', 'Mean', 'MaxPoolGrad', 'Identity'] as const;

export function fastGradientsInstalled(): boolean {
  return state.installed;
}

function silenceRegistrationWarnings<T>(fn: () => T): T {
  // tfjs warns "kernel already registered" on every re-registration; it is intended here.
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && /already registered|Overriding the gradient/.test(args[0])) return;
    warn(...args);
  };
  try {
    return fn();
  } finally {
    console.warn = warn;
  }
}

/**
 * Replaces the slow/missing backward kernels of the wasm backend with fast ones, their filter
 * gradient tuned by `tuning` (the defaults where left out; tests and benchmarks compare choices).
 * Idempotent: once installed, a call only sets the tuning. Requires the wasm backend module to be
 * imported (its kernels registered).
 */
export function installFastGradients(tuning: Partial<FilterGradientTuning> = {}): void {
  state.tuning = filterGradientTuning(tuning);
  if (state.installed) return;
  if (tf.getKernel('BatchMatMul', WASM) == null) {
    throw new Error('fast-gradients: the wasm backend is not loaded (no BatchMatMul kernel); import @tensorflow/tfjs-backend-wasm first');
  }
  for (const name of FAST_WASM_KERNELS) {
    const k = tf.getKernel(name, WASM);
    if (k != null && !originalKernels.has(name)) originalKernels.set(name, k);
  }
  const matmul = originalKernels.get('BatchMatMul') as tf.KernelConfig;
  silenceRegistrationWarnings(() => {
    tf.unregisterKernel('BatchMatMul', WASM);
    // Keep the original setupFunc/disposeFunc (they bind the wasm function) in case the backend is not initialised yet.
    tf.registerKernel({ ...matmul, kernelFunc: fastBatchMatMul(matmul) });
    for (const [name, fn] of [
      ['Conv2DBackpropInput', fastConv2DBackpropInput],
      ['Conv2DBackpropFilter', fastConv2DBackpropFilter],
    ] as const) {
      if (tf.getKernel(name, WASM) != null) tf.unregisterKernel(name, WASM);
      tf.registerKernel({ kernelName: name, backendName: WASM, kernelFunc: fn });
    }
    for (const name of ['Sum', 'Mean'] as const) {
      const original = originalKernels.get(name);
      if (original == null) throw new Error(`fast-gradients: wasm kernel ${name} is missing`);
      tf.unregisterKernel(name, WASM);
      tf.registerKernel({ ...original, kernelFunc: fastLeadingReduce(original, name === 'Mean') });
    }
    const bnGrad = tf.getGradient('FusedBatchNorm');
    if (bnGrad != null && !patchedGradients.has('FusedBatchNorm')) {
      patchedGradients.add('FusedBatchNorm');
      tf.registerGradient(batchNormGradient(bnGrad));
    }
    const maxPoolGrad = originalKernels.get('MaxPoolGrad');
    if (maxPoolGrad != null) {
      tf.unregisterKernel('MaxPoolGrad', WASM);
      tf.registerKernel({ ...maxPoolGrad, kernelFunc: fastMaxPoolGrad(maxPoolGrad) });
    }
    const identity = originalKernels.get('Identity');
    if (identity != null) {
      tf.unregisterKernel('Identity', WASM);
      tf.registerKernel({ ...identity, kernelFunc: sharedIdentity });
    }
    if (tf.getKernel(CONV2D_BIAS_RELU_KERNEL, WASM) == null)
      tf.registerKernel({ kernelName: CONV2D_BIAS_RELU_KERNEL, backendName: WASM, kernelFunc: conv2dBiasReluKernel });
    if (!patchedGradients.has(CONV2D_BIAS_RELU_KERNEL)) {
      patchedGradients.add(CONV2D_BIAS_RELU_KERNEL);
      tf.registerGradient(conv2dBiasReluGradient);
    }
    const reluGrad = tf.getGradient('Relu');
    if (reluGrad != null && !patchedGradients.has('Relu')) {
      patchedGradients.add('Relu');
      tf.registerGradient(reluGradientConfig(reluGrad));
    }
  });
  state.installed = true;
}
