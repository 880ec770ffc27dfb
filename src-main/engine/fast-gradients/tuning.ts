/** How the wasm filter gradient computes (tests and benchmarks compare the choices). */
export type FilterGradientMethod = 'auto' | 'grid' | 'im2col';

export interface FilterGradientTuning {
  /** 'auto' picks im2col or the per-tap grid GEMMs per shape; the others force one. */
  method: FilterGradientMethod;
  /** Positions (GEMM depth) per K block of the GEMMs, whole images per block (at least one): operands stay in cache. */
  block: number;
  /** Our SIMD GEMM (true) or XNNPACK's matmul, which repacks the dy block on every call. */
  simdGemm: boolean;
}

export const DEFAULT_FILTER_GRADIENT_TUNING: Readonly<FilterGradientTuning> = Object.freeze({ method: 'auto', block: 4096, simdGemm: true });

/** The defaults with `options` over them; throws on a block that is not a positive integer. */
export function filterGradientTuning(options: Partial<FilterGradientTuning> = {}): FilterGradientTuning {
  const t = { ...DEFAULT_FILTER_GRADIENT_TUNING, ...options };
  if (!Number.isInteger(t.block) || t.block < 1) throw new Error(`fast-gradients: the filter-gradient block must be a positive integer, got ${t.block}`);
  return t;
}
