/** The flipped, in/out-swapped sub-filters the input gradient convolves with, cached per filter buffer. */
import * as tf from '@tensorflow/tfjs';
import { flipSwapFilter } from '../wasm-layout';

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

/** w[k0h::sh, k0w::sw] flipped spatially, as [mh, mw, co, ci]. Built with a row gather (fast on wasm). */
export function flippedSubFilter(filter: tf.Tensor4D, k0h: number, k0w: number, sh: number, sw: number): tf.Tensor4D {
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
