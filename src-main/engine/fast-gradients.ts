// Fast backward kernels for the tfjs 'wasm' backend.
//
// Stock tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter at all, a slow Conv2DBackpropInput,
// and a BatchMatMul that is ~10x slower with transpose flags (which every MatMul gradient uses).
// We re-register these kernels on 'wasm' and express them through the fast XNNPACK forward conv
// and plain (flag-free) matmul. Kernels may be written with tf ops: the engine does not record
// ops run inside a kernel on the gradient tape, and accepts a Tensor as a kernel's output.
import * as tf from '@tensorflow/tfjs';
import { flipSwapFilter, interleavePhases, maxPoolGradient, permute3, reluGradient, reluGradientAndBiasSum, sumLeading, wasmHeapBackend, withHeapAlias, type WasmHeapBackend } from './wasm-layout';
import { heapPointer, simdKernels } from './simd';

type KernelFunc = tf.KernelConfig['kernelFunc'];
type Backend = Parameters<KernelFunc>[0]['backend'];

const WASM = 'wasm';
const originalKernels = new Map<string, tf.KernelConfig>();
let installed = false;
// Gradients are global (not per backend): patched once, and they defer to the stock ones off wasm.
const patchedGradients = new Set<string>();

/** Kernels this module replaces (or adds) on the wasm backend. */
export const FAST_WASM_KERNELS = ['BatchMatMul', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'Sum', 'Mean', 'MaxPoolGrad', 'Identity'] as const;

export function fastGradientsInstalled(): boolean {
  return installed;
}

/** [before, after] amounts per axis; negative amounts crop instead of padding. */
function padOrCrop4d(x: tf.Tensor4D, amounts: Array<[number, number]>): tf.Tensor4D {
  const needsCrop = amounts.some(([a, b]) => a < 0 || b < 0);
  const needsPad = amounts.some(([a, b]) => a > 0 || b > 0);
  let y = x;
  if (needsCrop) {
    const begin = amounts.map(([a]) => Math.max(0, -a));
    const size = amounts.map(([a, b], i) => y.shape[i] - Math.max(0, -a) - Math.max(0, -b));
    y = tf.slice(y, begin, size);
  }
  if (needsPad) {
    y = tf.pad(y, amounts.map(([a, b]) => [Math.max(0, a), Math.max(0, b)] as [number, number]));
  }
  return y;
}

function convInfo(
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
    throw new Error(`fast-gradients.ts: only NHWC convolutions are supported, got ${dataFormat}`);
  }
  return tf.backend_util.computeConv2DInfo(xShape, filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
}

// Flipped, in/out-swapped (sub-)filters, cached per filter buffer: PGD runs 10+ input gradients
// with the same weights, and Reverse/StridedSlice/Transpose are slow on wasm. Keyed by the
// backend dataId (a fresh object whenever a variable is assigned), so entries never go stale.
// Bounded by size (wrn-28-10 alone has 36M weights); stale entries (weights re-assigned or
// disposed) are dropped on every insert.
const FILTER_CACHE_MAX_FLOATS = 32 * 1024 * 1024;
type CacheEntry = { dataId: object; tensor: tf.Tensor4D };

/** Whether the backend still holds this buffer (it is freed once no tensor refers to it). */
function dataAlive(dataId: object): boolean {
  const storage = (tf.backend() as unknown as { dataIdMap?: { has(id: object): boolean } }).dataIdMap;
  return storage == null ? false : storage.has(dataId);
}
const filterCache = new Map<string, CacheEntry>();
let filterCacheFloats = 0;

function dropCacheEntry(key: string, entry: CacheEntry): void {
  filterCacheFloats -= entry.tensor.size;
  entry.tensor.dispose();
  filterCache.delete(key);
}
let dataIdCounter = 0;
const dataIdNames = new WeakMap<object, number>();

function dataIdName(t: tf.Tensor): number {
  const id = t.dataId as object;
  let n = dataIdNames.get(id);
  if (n == null) {
    n = ++dataIdCounter;
    dataIdNames.set(id, n);
  }
  return n;
}

/** Clears the flipped-filter cache (frees its tensors). */
export function clearFilterCache(): void {
  for (const [key, entry] of [...filterCache]) dropCacheEntry(key, entry);
}

/** w[k0h::sh, k0w::sw] flipped spatially, as [mh, mw, co, ci]. Built with a row gather (fast on wasm). */
function flippedSubFilter(filter: tf.Tensor4D, k0h: number, k0w: number, sh: number, sw: number): tf.Tensor4D {
  const key = `${dataIdName(filter)}:${k0h}:${k0w}:${sh}:${sw}`;
  const hit = filterCache.get(key);
  if (hit != null && !hit.tensor.isDisposed) {
    filterCache.delete(key); // refresh LRU position
    filterCache.set(key, hit);
    return tf.clone(hit.tensor);
  }
  const built = flipSwapFilter(filter, k0h, k0w, sh, sw);
  for (const [k, entry] of [...filterCache]) {
    if (!dataAlive(entry.dataId)) dropCacheEntry(k, entry);
  }
  if (built.size > FILTER_CACHE_MAX_FLOATS) return built;
  filterCache.set(key, { dataId: filter.dataId as object, tensor: tf.keep(built) });
  filterCacheFloats += built.size;
  while (filterCacheFloats > FILTER_CACHE_MAX_FLOATS) {
    const [oldest, entry] = filterCache.entries().next().value as [string, CacheEntry];
    dropCacheEntry(oldest, entry);
  }
  return tf.clone(built);
}

/**
 * dL/dx of a conv. Stride 1: a forward conv of the padded dy with the flipped, in/out-swapped
 * filter. Stride s > 1: polyphase: each of the s*s output phases dx[s*q+r] is a stride-1 conv of
 * the (undilated) dy with the sub-filter w[k0::s], then the phases are interleaved. This avoids
 * convolving the zeros of a stride-dilated dy (4x the work for stride 2).
 */
export function conv2dInputGradient(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  inputShape: [number, number, number, number],
  attrs: tf.NamedAttrMap,
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = convInfo(inputShape, filter.shape, attrs);
    const [n, h, w, ci] = inputShape;
    const [kh, kw] = [info.filterHeight, info.filterWidth];
    const [sh, sw] = [info.strideHeight, info.strideWidth];
    const [oh, ow] = [dy.shape[1], dy.shape[2]];
    const qh = Math.ceil(h / sh);
    const qw = Math.ceil(w / sw);
    // Per axis and phase r: first tap k0, number of taps m, and [before, after] padding of dy.
    const phase = (r: number, pad: number, k: number, s: number, q: number, o: number) => {
      const k0 = (r + pad) % s;
      const m = k0 >= k ? 0 : Math.ceil((k - k0) / s);
      const c = Math.floor((r + pad) / s);
      const before = m - 1 - c;
      const after = q + m - 1 - before - o;
      return { k0, m, before, after };
    };
    const phases: tf.Tensor4D[][] = [];
    for (let rh = 0; rh < sh; rh++) {
      const ph = phase(rh, info.padInfo.top, kh, sh, qh, oh);
      const row: tf.Tensor4D[] = [];
      for (let rw = 0; rw < sw; rw++) {
        const pw = phase(rw, info.padInfo.left, kw, sw, qw, ow);
        if (ph.m === 0 || pw.m === 0) {
          row.push(tf.zeros([n, qh, qw, ci]));
          continue;
        }
        const flipped = flippedSubFilter(filter, ph.k0, pw.k0, sh, sw);
        // Padding goes to the conv itself (XNNPACK pads implicitly); only cropping needs a slice.
        const crop = (a: number) => Math.max(0, -a);
        const cropped = padOrCrop4d(dy, [[0, 0], [-crop(ph.before), -crop(ph.after)], [-crop(pw.before), -crop(pw.after)], [0, 0]]);
        const pad: [[number, number], [number, number], [number, number], [number, number]] = [
          [0, 0],
          [Math.max(0, ph.before), Math.max(0, ph.after)],
          [Math.max(0, pw.before), Math.max(0, pw.after)],
          [0, 0],
        ];
        row.push(tf.conv2d(cropped, flipped, 1, pad));
      }
      phases.push(row);
    }
    if (sh === 1 && sw === 1) return phases[0][0];
    return interleavePhases(phases, [n, h, w, ci]);
  });
}

/** Per-axis plan of the filter gradient GEMMs: the phase r and shift a of each tap, and the grid length. */
function filterGradAxis(size: number, out: number, k: number, s: number, pad: number) {
  const taps: Array<{ r: number; a: number }> = [];
  for (let t = 0; t < k; t++) {
    const d = t - pad;
    const r = ((d % s) + s) % s;
    taps.push({ r, a: (d - r) / s });
  }
  const amin = Math.min(...taps.map((t) => t.a));
  const amax = Math.max(...taps.map((t) => t.a));
  const phaseLength = (r: number) => (r < size ? Math.ceil((size - r) / s) : 0);
  const longest = Math.max(...taps.map((t) => phaseLength(t.r)));
  // Reads before a phase's start (a < 0) wrap into the previous row/image: the grid keeps at
  // least -amin zero entries after each phase's data; reads past its end must stay in the row.
  const grid = Math.max(longest + Math.max(0, -amin), out + Math.max(0, amax));
  return { taps, grid, phaseLength };
}

/**
 * dL/dW of a conv on the wasm heap as kh*kw plain GEMMs that share one right operand:
 * dW[p,q] = X_pq (ci x K) . dY (K x co), K = n * gridH * gridW. dY is dy laid on a zero-padded
 * grid ([K, co], packed by XNNPACK once for all taps); X_pq is a zero-copy view, shifted by the
 * tap, into x transposed to [ci, K] (one buffer per stride phase). The zero margins of the grid
 * make every out-of-image read hit a zero, so no im2col is materialised.
 */
/** Adds one block's partial product into the accumulator `out` (floats from `offset`) and frees it. */
function addProductInto(be: WasmHeapBackend, product: tf.TensorInfo, out: tf.TensorInfo, offset: number): void {
  const simd = simdKernels();
  const size = tf.util.sizeFromShape(product.shape);
  if (simd != null) {
    simd.add_into(heapPointer(out) + offset * 4, heapPointer(product), size);
  } else {
    const values = be.typedArrayFromHeap(product);
    const acc = be.typedArrayFromHeap(out);
    for (let i = 0; i < size; i++) acc[offset + i] += values[i]!;
  }
  be.disposeData(product.dataId);
}

function conv2dFilterGradientGemm(be: WasmHeapBackend, matmul: tf.KernelConfig, x: tf.Tensor4D, dy: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const [n, h, w, ci] = x.shape;
  const [, oh, ow, co] = dy.shape;
  const [kh, kw] = [info.filterHeight, info.filterWidth];
  const ah = filterGradAxis(h, oh, kh, info.strideHeight, info.padInfo.top);
  const aw = filterGradAxis(w, ow, kw, info.strideWidth, info.padInfo.left);
  const [gh, gw] = [ah.grid, aw.grid];
  const k = n * gh * gw;
  const taps: Array<{ rh: number; rw: number; off: number }> = [];
  for (const th of ah.taps) for (const tw of aw.taps) taps.push({ rh: th.r, rw: tw.r, off: th.a * gw + tw.a });
  const before = Math.max(0, -Math.min(...taps.map((t) => t.off)));
  const after = Math.max(0, Math.max(...taps.map((t) => t.off)));
  const phaseKeys = [...new Set(taps.map((t) => `${t.rh},${t.rw}`))];
  const dyGrid = be.makeOutput([k, co], 'float32');
  const phaseBuffers = new Map(phaseKeys.map((key) => [key, be.makeOutput([before + ci * k + after], 'float32')]));
  const outInfo = be.makeOutput([kh, kw, ci, co], 'float32');
  try {
    // Views are taken after all allocations (an allocation may grow, and so detach, the heap).
    const dySrc = be.typedArrayFromHeap(dy);
    const dyDst = be.typedArrayFromHeap(dyGrid);
    dyDst.fill(0);
    const rowLength = ow * co;
    const simd = simdKernels();
    const [dyPtr, gridPtr] = [heapPointer(dy), heapPointer(dyGrid)];
    for (let b = 0; b < n; b++) {
      // rows of dy to rows of the grid (one call per image)
      if (simd != null) simd.scatter_pixels(dyPtr + b * oh * rowLength * 4, oh, rowLength * 4, gridPtr + b * gh * gw * co * 4, gw * co * 4);
      for (let i = 0; simd == null && i < oh; i++) {
        const s = (b * oh + i) * rowLength;
        dyDst.set(dySrc.subarray(s, s + rowLength), (b * gh + i) * gw * co);
      }
    }
    // One sequential pass over x: pixel (y, col) goes to phase (y % sh, col % sw) at (y / sh, col / sw).
    // Each phase buffer is [groups][ci][group's grid positions]: a group's rows are contiguous,
    // so a tap's GEMM over one group is a zero-copy [ci, Kg] view (reads past a row end hit the
    // next row's zero margin, as reads past an image do).
    const xSrc = be.typedArrayFromHeap(x);
    const [sh, sw] = [info.strideHeight, info.strideWidth];
    const phaseViews: Array<Array<Float32Array | null>> = [];
    for (let rh = 0; rh < sh; rh++) {
      phaseViews.push([]);
      for (let rw = 0; rw < sw; rw++) {
        const buffer = phaseBuffers.get(`${rh},${rw}`);
        const view = buffer == null ? null : be.typedArrayFromHeap(buffer);
        view?.fill(0);
        phaseViews[rh].push(view);
      }
    }
    const cell = gh * gw;
    const groupImages = Math.max(1, Math.floor(filterGradientBlock / cell));
    const xPtr = heapPointer(x);
    const phasePtrs = phaseViews.map((row, rh) => row.map((_, rw) => {
      const buffer = phaseBuffers.get(`${rh},${rw}`);
      return buffer == null ? -1 : heapPointer(buffer);
    }));
    for (let b = 0; simd != null && b < n; b++) {
      const group = Math.floor(b / groupImages);
      const groupK = Math.min(groupImages, n - group * groupImages) * cell;
      const imageBase = before + group * groupImages * cell * ci + (b - group * groupImages) * gh * gw;
      // one call per image and phase: its rows y = rh, rh + sh, ... to grid rows 0, 1, ...
      for (let rh = 0; rh < sh && rh < h; rh++) {
        for (let rw = 0; rw < sw && rw < w; rw++) {
          const dst = phasePtrs[rh][rw];
          if (dst < 0) continue;
          const src = xPtr + ((b * h + rh) * w + rw) * ci * 4;
          simd.transpose_block(src, sw * ci * 4, Math.ceil((w - rw) / sw), ci, dst + imageBase * 4, groupK * 4, Math.ceil((h - rh) / sh), sh * w * ci * 4, gw * 4);
        }
      }
    }
    for (let b = 0; simd == null && b < n; b++) {
      const group = Math.floor(b / groupImages);
      const groupK = Math.min(groupImages, n - group * groupImages) * cell;
      const groupBase = before + group * groupImages * cell * ci;
      for (let y = 0; y < h; y++) {
        const rowViews = phaseViews[y % sh];
        const dstRow = groupBase + ((b - group * groupImages) * gh + Math.floor(y / sh)) * gw;
        const srcRow = (b * h + y) * w * ci;
        // Writes run along a phase row (sequential); the strided reads stay in one image row (L1).
        for (let rw = 0; rw < sw && rw < w; rw++) {
          const dst = rowViews[rw];
          if (dst == null) continue;
          const count = Math.ceil((w - rw) / sw);
          const step = sw * ci;
          for (let c = 0; c < ci; c++) {
            const d = dstRow + c * groupK;
            let s = srcRow + rw * ci + c;
            for (let j = 0; j < count; j++, s += step) dst[d + j] = xSrc[s];
          }
        }
      }
    }
    // K-blocked GEMMs: XNNPACK does not block over K, and one GEMM over all n images streams
    // operands far larger than the cache (measured ~25 GFLOP/s vs ~35 blocked).
    be.typedArrayFromHeap(outInfo).fill(0);
    const gemm = simdGemmFor(co);
    const [dyGridPtr, outPtr] = [heapPointer(dyGrid), heapPointer(outInfo)];
    for (let group = 0; group * groupImages < n; group++) {
      const groupK = Math.min(groupImages, n - group * groupImages) * cell;
      const groupBase = before + group * groupImages * cell * ci;
      if (gemm != null) {
        const dyBlock = dyGridPtr + group * groupImages * cell * co * 4;
        taps.forEach((tap, t) => {
          gemm.gemm_acc(phasePtrs[tap.rh]![tap.rw]! + (groupBase + tap.off) * 4, groupK * 4, dyBlock, groupK, co, outPtr + t * ci * co * 4, ci);
        });
        continue;
      }
      withHeapAlias(be, dyGrid, group * groupImages * cell * co, [groupK, co], (dyBlock) => {
        taps.forEach((tap, t) => {
          const phase = phaseBuffers.get(`${tap.rh},${tap.rw}`) as tf.TensorInfo;
          const product = withHeapAlias(be, phase, groupBase + tap.off, [ci, groupK], (a) =>
            matmul.kernelFunc({ inputs: { a, b: dyBlock }, attrs: { transposeA: false, transposeB: false }, backend: be as unknown as Backend }),
          ) as tf.TensorInfo;
          addProductInto(be, product, outInfo, t * ci * co);
        });
      });
    }
  } catch (e) {
    be.disposeData(outInfo.dataId);
    throw e;
  } finally {
    be.disposeData(dyGrid.dataId);
    for (const buffer of phaseBuffers.values()) be.disposeData(buffer.dataId);
  }
  return tf.engine().makeTensorFromTensorInfo(outInfo) as tf.Tensor4D;
}

let simdGemmEnabled = true;

/**
 * Turns our SIMD GEMM for filter gradients off (XNNPACK's matmul, which repacks the dy block on
 * every call) or on; tests and benchmarks compare the two.
 */
export function setSimdGemmEnabled(on: boolean): void {
  simdGemmEnabled = on;
}

/** The SIMD kernels when our GEMM can take a product with n output columns, else null. */
function simdGemmFor(n: number) {
  const simd = simdKernels();
  return simd != null && simdGemmEnabled && n % 8 === 0 ? simd : null;
}

/** Default positions (GEMM depth) per K block of the filter-gradient GEMMs: operands stay in cache. */
export const DEFAULT_FILTER_GRADIENT_BLOCK = 4096;
let filterGradientBlock = DEFAULT_FILTER_GRADIENT_BLOCK;

/**
 * Sets the K block of the wasm filter-gradient GEMMs in positions (whole images per block, at
 * least one). Tests use small blocks to exercise the multi-block path.
 */
export function setFilterGradientBlock(positions: number): void {
  if (!Number.isInteger(positions) || positions < 1) throw new Error(`fast-gradients.ts: the filter-gradient block must be a positive integer, got ${positions}`);
  filterGradientBlock = positions;
}

/** Below this many input channels the filter gradient uses one im2col GEMM (the per-tap GEMMs would have ci rows). */
export type FilterGradientMethod = 'auto' | 'grid' | 'im2col';
let filterGradientMethod: FilterGradientMethod = 'auto';

/** Forces one wasm filter-gradient method (tests and benchmarks compare them); 'auto' picks per shape. */
export function setFilterGradientMethod(method: FilterGradientMethod): void {
  filterGradientMethod = method;
}

const IM2COL_MAX_CHANNELS = 8;
/** Otherwise im2col is used where the grid GEMMs would do this much more work and the patches stay small. */
const IM2COL_MIN_GRID_WASTE = 1.2;
const IM2COL_MAX_FLOATS = 8 * 1024 * 1024;

/**
 * dL/dW of a conv with few input channels (first layers): one GEMM of the transposed patches
 * A [kh*kw*ci, P] with dy itself as B [P, co] (P = n*oh*ow); the product is dW's layout.
 */
function conv2dFilterGradientIm2col(be: WasmHeapBackend, matmul: tf.KernelConfig, x: tf.Tensor4D, dy: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const [n, h, w, ci] = x.shape;
  const [, oh, ow, co] = dy.shape;
  const [kh, kw] = [info.filterHeight, info.filterWidth];
  const [sh, sw] = [info.strideHeight, info.strideWidth];
  const { top, left } = info.padInfo;
  const positions = n * oh * ow;
  const patches = be.makeOutput([kh * kw * ci, positions], 'float32');
  const outInfo = be.makeOutput([kh, kw, ci, co], 'float32');
  const rowsA = kh * kw * ci;
  const cell = oh * ow;
  // Patches are [groups][kh*kw*ci][group's positions] so that each K block of the GEMM is contiguous.
  const groupImages = Math.max(1, Math.floor(filterGradientBlock / cell));
  try {
    const simd = simdKernels();
    const [srcPtr, patchesPtr] = [heapPointer(x), heapPointer(patches)];
    for (let b = 0; simd != null && b < n; b++) {
      const group = Math.floor(b / groupImages);
      const groupK = Math.min(groupImages, n - group * groupImages) * cell;
      const groupBase = group * groupImages * cell * rowsA + (b - group * groupImages) * cell;
      simd.im2col(srcPtr + b * h * w * ci * 4, h, w, ci, kh, kw, sh, sw, top, left, oh, ow, patchesPtr + groupBase * 4, groupK * 4);
    }
    const src = be.typedArrayFromHeap(x);
    const dst = be.typedArrayFromHeap(patches);
    for (let b = 0; simd == null && b < n; b++) {
      const group = Math.floor(b / groupImages);
      const groupK = Math.min(groupImages, n - group * groupImages) * cell;
      const groupBase = group * groupImages * cell * rowsA + (b - group * groupImages) * cell;
      for (let p = 0; p < kh; p++) {
        for (let q = 0; q < kw; q++) {
          for (let c = 0; c < ci; c++) {
            const row = groupBase + ((p * kw + q) * ci + c) * groupK;
            for (let i = 0; i < oh; i++) {
              const y = i * sh + p - top;
              const d = row + i * ow;
              if (y < 0 || y >= h) {
                dst.fill(0, d, d + ow);
                continue;
              }
              const srcRow = (b * h + y) * w * ci + c;
              for (let j = 0; j < ow; j++) {
                const xx = j * sw + q - left;
                dst[d + j] = xx >= 0 && xx < w ? src[srcRow + xx * ci] : 0;
              }
            }
          }
        }
      }
    }
    // K-blocked GEMMs (see conv2dFilterGradientGemm): [rowsA, Pg] x dy rows [Pg, co], summed.
    be.typedArrayFromHeap(outInfo).fill(0);
    const gemm = simdGemmFor(co);
    const [dyPtr, outPtr] = [heapPointer(dy), heapPointer(outInfo)];
    for (let group = 0; group * groupImages < n; group++) {
      const groupK = Math.min(groupImages, n - group * groupImages) * cell;
      const start = group * groupImages * cell;
      if (gemm != null) {
        gemm.gemm_acc(patchesPtr + start * rowsA * 4, groupK * 4, dyPtr + start * co * 4, groupK, co, outPtr, rowsA);
        continue;
      }
      const product = withHeapAlias(be, patches, start * rowsA, [rowsA, groupK], (a) =>
        withHeapAlias(be, { dataId: dy.dataId, shape: [positions * co], dtype: 'float32' }, start * co, [groupK, co], (dyBlock) =>
          matmul.kernelFunc({ inputs: { a, b: dyBlock }, attrs: { transposeA: false, transposeB: false }, backend: be as unknown as Backend }),
        ),
      ) as tf.TensorInfo;
      // [kh*kw*ci, co] is dW's memory layout
      addProductInto(be, product, outInfo, 0);
    }
  } catch (e) {
    be.disposeData(outInfo.dataId);
    throw e;
  } finally {
    be.disposeData(patches.dataId);
  }
  return tf.engine().makeTensorFromTensorInfo(outInfo) as tf.Tensor4D;
}

/** dL/dW of a conv on wasm: im2col or per-tap GEMMs over a zero-padded grid, whichever does less work for the shape. */
export function conv2dFilterGradient(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  attrs: tf.NamedAttrMap,
): tf.Tensor4D {
  const be = wasmHeapBackend();
  const matmul = originalKernels.get('BatchMatMul');
  if (be != null && matmul != null && x.dtype === 'float32' && dy.dtype === 'float32') {
    const info = convInfo(x.shape, filterShape, attrs);
    const [n, h, w, ci] = x.shape;
    const [, oh, ow] = dy.shape;
    // The grid GEMMs also multiply the grid's zero margins: 56% extra work on 4x4 maps, 27% on
    // 8x8. There (and for few input channels) writing the patches out is cheaper.
    const gridH = filterGradAxis(h, oh, info.filterHeight, info.strideHeight, info.padInfo.top).grid;
    const gridW = filterGradAxis(w, ow, info.filterWidth, info.strideWidth, info.padInfo.left).grid;
    const waste = (gridH * gridW) / (oh * ow);
    const patchFloats = info.filterHeight * info.filterWidth * ci * n * oh * ow;
    const im2col =
      filterGradientMethod === 'auto' ? ci < IM2COL_MAX_CHANNELS || (waste > IM2COL_MIN_GRID_WASTE && patchFloats <= IM2COL_MAX_FLOATS) : filterGradientMethod === 'im2col';
    return (im2col ? conv2dFilterGradientIm2col : conv2dFilterGradientGemm)(be, matmul, x, dy, info);
  }
  throw new Error('fast-gradients.ts: the conv filter gradient runs on the wasm backend with float32 tensors only');
}

function transposeLastTwo(t: tf.Tensor): tf.Tensor {
  const r = t.rank;
  const [rows, cols] = [t.shape[r - 2], t.shape[r - 1]];
  const batch = t.size / (rows * cols);
  return permute3(t, [batch, rows, cols], [0, 2, 1], [...t.shape.slice(0, r - 2), cols, rows]);
}

function tensorOf(info: tf.TensorInfo | undefined): tf.Tensor {
  if (info == null) throw new Error('fast-gradients.ts: a kernel input is missing');
  // Kernel inputs are Tensors when called through the engine.
  return info as unknown as tf.Tensor;
}

function fastBatchMatMul(original: tf.KernelConfig): KernelFunc {
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
function fastLeadingReduce(original: tf.KernelConfig, mean: boolean): KernelFunc {
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
function fastMaxPoolGrad(original: tf.KernelConfig): KernelFunc {
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
const sharedIdentity: KernelFunc = ({ inputs, backend }) => {
  const x = inputs.x as tf.TensorInfo;
  (backend as unknown as { incRef(dataId: object): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
};

/** ReLU gradient in one pass on wasm (stock: Step + Cast + Multiply); stock elsewhere. */
function reluGradientConfig(original: tf.GradConfig): tf.GradConfig {
  return {
    ...original,
    gradFunc: (dy, saved, attrs) => {
      const dyT = Array.isArray(dy) ? dy[0] : dy;
      if (tf.getBackend() !== WASM) return original.gradFunc(dy, saved, attrs);
      return { x: () => reluGradient(dyT, saved[0]) };
    },
  };
}

function requireUnitDilation(attrs: tf.NamedAttrMap, kernel: string): void {
  const d = (attrs as { dilations?: number | number[] }).dilations;
  const ds = d == null ? [1] : Array.isArray(d) ? d : [d];
  if (ds.some((v) => v !== 1)) {
    throw new Error(`fast-gradients.ts: ${kernel} with dilations ${JSON.stringify(d)} is not supported on wasm`);
  }
}

const fastConv2DBackpropInput: KernelFunc = ({ inputs, attrs = {} }) => {
  requireUnitDilation(attrs, 'Conv2DBackpropInput');
  const inputShape = (attrs as unknown as { inputShape: [number, number, number, number] }).inputShape;
  return conv2dInputGradient(tensorOf(inputs.dy) as tf.Tensor4D, tensorOf(inputs.filter) as tf.Tensor4D, inputShape, attrs);
};

let skipFilterGradientsDepth = 0;

/**
 * Runs fn (synchronously) with filter gradients replaced by zeros. Fused conv ops (tf.layers convs
 * without activation, i.e. all ResNet convs) compute dx and dW together in one custom gradient,
 * so an input gradient (attack step) would otherwise pay for every dW. Only use when fn needs
 * gradients w.r.t. inputs alone.
 */
export function withoutFilterGradients<T>(fn: () => T): T {
  skipFilterGradientsDepth++;
  try {
    return fn();
  } finally {
    skipFilterGradientsDepth--;
  }
}

const fastConv2DBackpropFilter: KernelFunc = ({ inputs, attrs = {} }) => {
  requireUnitDilation(attrs, 'Conv2DBackpropFilter');
  const filterShape = (attrs as unknown as { filterShape: [number, number, number, number] }).filterShape;
  if (skipFilterGradientsDepth > 0) return tf.zeros(filterShape);
  return conv2dFilterGradient(tensorOf(inputs.x) as tf.Tensor4D, tensorOf(inputs.dy) as tf.Tensor4D, filterShape, attrs);
};

/** Kernel (wasm only) of a conv + bias + ReLU that keeps XNNPACK's fused forward under a gradient tape. */
export const CONV2D_BIAS_RELU_KERNEL = 'PumaConv2DBiasRelu';

interface ConvBiasReluAttrs {
  strides: [number, number];
  pad: 'same' | 'valid';
}

const conv2dBiasReluKernel: KernelFunc = ({ inputs, attrs = {}, backend }) => {
  const fused = tf.getKernel('FusedConv2D', WASM);
  if (fused == null) throw new Error('fast-gradients.ts: the wasm FusedConv2D kernel is missing');
  const { strides, pad } = attrs as unknown as ConvBiasReluAttrs;
  return fused.kernelFunc({
    inputs: { x: inputs.x, filter: inputs.filter, bias: inputs.bias },
    attrs: { strides, pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined as unknown as string, activation: 'relu' } as unknown as tf.NamedAttrMap,
    backend,
  });
};

/**
 * Gradient of conv + bias + ReLU: the ReLU mask comes from the saved output (relu(z) > 0 exactly
 * when z > 0), then the fast wasm conv gradients; the engine asks only for the inputs it needs
 * (no dx for the first layer, no dW inside withoutFilterGradients).
 */
const conv2dBiasReluGradient: tf.GradConfig = {
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
      filter: () => (skipFilterGradientsDepth > 0 ? tf.zeros(filter.shape) : conv2dFilterGradient(x, dyPre, filter.shape, convAttrs)),
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
  if (!installed || tf.getBackend() !== WASM || x.dtype !== 'float32') {
    return tf.tidy(() => tf.relu(tf.add(tf.conv2d(x, filter, strides, pad), bias)) as tf.Tensor4D);
  }
  const attrs: ConvBiasReluAttrs = { strides, pad };
  return tf.engine().runKernel(CONV2D_BIAS_RELU_KERNEL, { x, filter, bias }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/**
 * FusedBatchNorm gradient without Tile (the stock gradient tiles 1/sqrt(var) to the full input
 * shape, slow on wasm); reductions over the leading axes go to the fast Sum. Other backends keep
 * the stock gradient.
 */
function batchNormGradient(original: tf.GradConfig): tf.GradConfig {
  return {
    ...original,
    gradFunc: (dy, saved, attrs) => {
      const [x, mean, variance, scale] = saved;
      if (tf.getBackend() !== WASM || mean.rank !== 1 || x.rank < 2) return original.gradFunc(dy, saved, attrs);
      const dyT = Array.isArray(dy) ? dy[0] : dy;
      const eps = (attrs as { varianceEpsilon: number }).varianceEpsilon;
      const axes = x.shape.slice(0, -1).map((_, i) => i);
      const rsqrtVar = tf.rsqrt(tf.add(variance, eps));
      const gain = scale == null ? rsqrtVar : tf.mul(rsqrtVar, scale);
      const centered = () => tf.sub(x, mean);
      const dySum = () => tf.sum(dyT, axes);
      return {
        x: () => tf.mul(dyT, gain),
        mean: () => tf.neg(tf.mul(dySum(), gain)),
        variance: () => tf.mul(tf.sum(tf.mul(dyT, centered()), axes), tf.mul(tf.mul(gain, tf.square(rsqrtVar)), -0.5)),
        scale: () => tf.mul(tf.sum(tf.mul(dyT, centered()), axes), rsqrtVar),
        offset: dySum,
      };
    },
  };
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
 * Replaces the slow/missing backward kernels of the wasm backend with fast ones.
 * Idempotent. Requires the wasm backend module to be imported (its kernels registered).
 */
export function installFastGradients(): void {
  if (installed) return;
  if (tf.getKernel('BatchMatMul', WASM) == null) {
    throw new Error('fast-gradients.ts: the wasm backend is not loaded (no BatchMatMul kernel); import @tensorflow/tfjs-backend-wasm first');
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
      if (original == null) throw new Error(`fast-gradients.ts: wasm kernel ${name} is missing`);
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
    if (tf.getKernel(CONV2D_BIAS_RELU_KERNEL, WASM) == null) tf.registerKernel({ kernelName: CONV2D_BIAS_RELU_KERNEL, backendName: WASM, kernelFunc: conv2dBiasReluKernel });
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
  installed = true;
}

/** Restores the stock wasm kernels (used by benchmarks and tests to compare). */
export function uninstallFastGradients(): void {
  if (!installed) return;
  for (const name of FAST_WASM_KERNELS) {
    if (tf.getKernel(name, WASM) != null) tf.unregisterKernel(name, WASM);
    const original = originalKernels.get(name);
    if (original != null) tf.registerKernel(original);
  }
  installed = false;
}

export type { Backend };
