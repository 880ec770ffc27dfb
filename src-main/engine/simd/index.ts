// Wasm SIMD data-movement kernels (kernels.wat) running on the tfjs wasm backend's own heap.
// One instance per heap (WebAssembly.Memory); callers pass byte offsets of tensors the backend
// holds. Where SIMD or the heap is unavailable, or PUMA_SIMD_KERNELS=0, callers keep their
// plain-JS loops (the same results; tests compare both).
import * as tf from '@tensorflow/tfjs';
import { SIMD_KERNELS_WASM_BASE64 } from './kernels-wasm';

/** The module's exports; pointers are heap byte offsets, counts elements (see kernels.wat). */
export interface SimdKernels {
  relu_mask(dy: number, y: number, out: number, n: number): void;
  column_sums(src: number, y: number, out: number, rows: number, c: number, partial: number, acc: number): void;
  transpose_block(
    src: number,
    pixelStrideBytes: number,
    count: number,
    ci: number,
    dst: number,
    dstRowBytes: number,
    rows: number,
    srcRowStepBytes: number,
    dstRowStepBytes: number,
  ): void;
  im2col(
    src: number,
    h: number,
    w: number,
    ci: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    top: number,
    left: number,
    oh: number,
    ow: number,
    dst: number,
    rowStrideBytes: number,
  ): void;
  scatter_pixels(src: number, count: number, pixelBytes: number, dst: number, dstStrideBytes: number): void;
  maxpool2_grad(x: number, dy: number, out: number, n: number, h: number, w: number, c: number, oh: number, ow: number): void;
  gemm_acc(a: number, ldaBytes: number, b: number, k: number, n: number, c: number, m: number): void;
  add_into(acc: number, src: number, n: number): void;
}

interface HeapBackend {
  wasm?: { asm?: { memory?: unknown } };
  dataIdMap?: { get(dataId: object): { memoryOffset: number } | undefined };
}

let enabled = process.env.PUMA_SIMD_KERNELS !== '0';
let compiled: WebAssembly.Module | null | undefined;
const instances = new WeakMap<WebAssembly.Memory, SimdKernels>();

/** Turns the SIMD kernels off (plain-JS loops) or back on; tests and benchmarks compare both. */
export function setSimdKernelsEnabled(on: boolean): void {
  enabled = on;
}

function compiledModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    const bytes = Buffer.from(SIMD_KERNELS_WASM_BASE64, 'base64');
    // validate() is false where the engine lacks wasm SIMD or bulk memory
    compiled = WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  }
  return compiled;
}

/** The kernels bound to the active wasm backend's heap, or null (other backend, no SIMD, disabled). */
export function simdKernels(): SimdKernels | null {
  if (!enabled || tf.getBackend() !== 'wasm') return null;
  const memory = (tf.backend() as unknown as HeapBackend).wasm?.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) return null;
  let kernels = instances.get(memory);
  if (kernels == null) {
    const module = compiledModule();
    if (module == null) return null;
    kernels = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as SimdKernels;
    instances.set(memory, kernels);
  }
  return kernels;
}

/** Byte offset of a tensor's buffer on the wasm heap. */
export function heapPointer(info: tf.TensorInfo): number {
  const record = (tf.backend() as unknown as HeapBackend).dataIdMap?.get(info.dataId as object);
  if (record == null) throw new Error('simd/index.ts: the tensor is not on the wasm heap');
  return record.memoryOffset;
}
