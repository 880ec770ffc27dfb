import { Worker } from 'node:worker_threads';

/**
 * Runs `fn` and returns how far the process's resident memory rose above where it stood before,
 * at its highest. A worker thread samples the RSS every few milliseconds, so the peak is seen even
 * while `fn` blocks the main thread in synchronous decoding.
 */
export async function peakRssRise<T>(fn: () => Promise<T>): Promise<{ rise: number; result: T | Error }> {
  const shared = new Float64Array(new SharedArrayBuffer(16));
  const worker = new Worker(
    `const { workerData } = require('node:worker_threads');
     const a = new Float64Array(workerData);
     const sample = () => { const r = process.memoryUsage.rss(); if (r > a[0]) a[0] = r; a[1]++; };
     sample();
     setInterval(sample, 2);`,
    { eval: true, workerData: shared.buffer },
  );
  try {
    while (shared[1] < 2) await new Promise((r) => setTimeout(r, 5));
    const before = process.memoryUsage.rss();
    shared[0] = before;
    let result: T | Error;
    try {
      result = await fn();
    } catch (e) {
      result = e as Error;
    }
    const samples = shared[1];
    while (shared[1] < samples + 2) await new Promise((r) => setTimeout(r, 5));
    return { rise: Math.max(shared[0], process.memoryUsage.rss()) - before, result };
  } finally {
    await worker.terminate();
  }
}
