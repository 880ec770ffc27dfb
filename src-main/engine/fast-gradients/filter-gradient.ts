/**
 * dL/dW of a conv on the wasm heap: im2col or per-tap GEMMs over a zero-padded grid, K-blocked,
 * with our SIMD GEMM or XNNPACK's matmul (tuning.ts); and withoutFilterGradients, for input
 * gradients that need no dW.
 */
import * as tf from '@tensorflow/tfjs';
import { withHeapAlias, wasmHeapBackend, type WasmHeapBackend } from '../wasm-layout';
import { heapPointer, simdKernels } from '../simd';
import { convInfo, type Backend } from './common';
import { originalKernels } from './registry';
import { filterGradientTuning, type FilterGradientTuning } from './tuning';

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

/**
 * dL/dW of a conv on the wasm heap as kh*kw plain GEMMs that share one right operand:
 * dW[p,q] = X_pq (ci x K) . dY (K x co), K = n * gridH * gridW. dY is dy laid on a zero-padded
 * grid ([K, co], packed by XNNPACK once for all taps); X_pq is a zero-copy view, shifted by the
 * tap, into x transposed to [ci, K] (one buffer per stride phase). The zero margins of the grid
 * make every out-of-image read hit a zero, so no im2col is materialised.
 */
function conv2dFilterGradientGemm(
  be: WasmHeapBackend,
  matmul: tf.KernelConfig,
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  info: tf.backend_util.Conv2DInfo,
  tuning: FilterGradientTuning,
): tf.Tensor4D {
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
    const groupImages = Math.max(1, Math.floor(tuning.block / cell));
    const xPtr = heapPointer(x);
    const phasePtrs = phaseViews.map((row, rh) =>
      row.map((_, rw) => {
        const buffer = phaseBuffers.get(`${rh},${rw}`);
        return buffer == null ? -1 : heapPointer(buffer);
      }),
    );
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
          simd.transpose_block(
            src,
            sw * ci * 4,
            Math.ceil((w - rw) / sw),
            ci,
            dst + imageBase * 4,
            groupK * 4,
            Math.ceil((h - rh) / sh),
            sh * w * ci * 4,
            gw * 4,
          );
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
    const gemm = simdGemmFor(co, tuning.simdGemm);
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

/** The SIMD kernels when our GEMM is wanted and can take a product with n output columns, else null. */
function simdGemmFor(n: number, wanted: boolean) {
  const simd = simdKernels();
  return simd != null && wanted && n % 8 === 0 ? simd : null;
}

/** Below this many input channels the filter gradient uses one im2col GEMM (the per-tap GEMMs would have ci rows). */
const IM2COL_MAX_CHANNELS = 8;
/** Otherwise im2col is used where the grid GEMMs would do this much more work and the patches stay small. */
const IM2COL_MIN_GRID_WASTE = 1.2;
const IM2COL_MAX_FLOATS = 8 * 1024 * 1024;

/**
 * dL/dW of a conv with few input channels (first layers): one GEMM of the transposed patches
 * A [kh*kw*ci, P] with dy itself as B [P, co] (P = n*oh*ow); the product is dW's layout.
 */
function conv2dFilterGradientIm2col(
  be: WasmHeapBackend,
  matmul: tf.KernelConfig,
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  info: tf.backend_util.Conv2DInfo,
  tuning: FilterGradientTuning,
): tf.Tensor4D {
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
  const groupImages = Math.max(1, Math.floor(tuning.block / cell));
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
    const gemm = simdGemmFor(co, tuning.simdGemm);
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
  options: Partial<FilterGradientTuning> = {},
): tf.Tensor4D {
  const tuning = filterGradientTuning(options);
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
      tuning.method === 'auto' ? ci < IM2COL_MAX_CHANNELS || (waste > IM2COL_MIN_GRID_WASTE && patchFloats <= IM2COL_MAX_FLOATS) : tuning.method === 'im2col';
    return (im2col ? conv2dFilterGradientIm2col : conv2dFilterGradientGemm)(be, matmul, x, dy, info, tuning);
  }
  throw new Error('fast-gradients: the conv filter gradient runs on the wasm backend with float32 tensors only');
}

let skipFilterGradientsDepth = 0;

/** Whether filter gradients are skipped now (inside withoutFilterGradients). */
export function filterGradientsSkipped(): boolean {
  return skipFilterGradientsDepth > 0;
}

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
