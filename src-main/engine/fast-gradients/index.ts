// Fast backward kernels for the tfjs 'wasm' backend (install.ts says why): the public surface.
export { FAST_WASM_KERNELS, fastGradientsInstalled, installFastGradients } from './install';
export { conv2dFilterGradient, withoutFilterGradients } from './filter-gradient';
export { conv2dBiasRelu } from './fused';
