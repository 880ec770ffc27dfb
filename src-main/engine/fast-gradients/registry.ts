/**
 * The state of the fast kernels: whether they are installed, the stock kernels they replaced
 * (restored by uninstall; the filter gradient multiplies with the stock BatchMatMul), and the
 * filter gradient's tuning the installed kernels use.
 */
import type * as tf from '@tensorflow/tfjs';
import { DEFAULT_FILTER_GRADIENT_TUNING, type FilterGradientTuning } from './tuning';

export const originalKernels = new Map<string, tf.KernelConfig>();
// Gradients are global (not per backend): patched once, and they defer to the stock ones off wasm.
export const patchedGradients = new Set<string>();

export const state: { installed: boolean; tuning: FilterGradientTuning } = { installed: false, tuning: DEFAULT_FILTER_GRADIENT_TUNING };
