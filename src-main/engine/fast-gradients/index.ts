// Fast backward kernels for the tfjs 'wasm' backend (install.ts says why): the public surface.
export { FAST_WASM_KERNELS, fastGradientsInstalled, installFastGradients, uninstallFastGradients } from './install';
export type { FilterGradientMethod, FilterGradientTuning } from './tuning';
export { conv2dFilterGradient, withoutFilterGradients } from './filter-gradient';
export { conv2dInputGradient } from './input-gradient';
export { clearFilterCache } from './filter-cache';
export { CONV2D_BIAS_RELU_KERNEL, conv2dBiasRelu } from './fused';
