/**
 * How long a dataset import blocks the main process's event loop: imports Debian's Fashion-MNIST
 * (gzip IDX, 26 MB → 47 MB) through the datasets operations, as the app does, while a 5 ms timer
 * measures the longest gap between its ticks. Prints JSON.
 *   npx tsx bench/datasets-import-lag.ts [PATH]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Events } from '../src-shared/api/contract';
import { forkJobLauncher } from '../src-main/jobs/fork-launcher';
import { PumaApp } from '../src-main/services/app';

async function main(): Promise<void> {
  const source = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
  if (!fs.existsSync(source)) throw new Error(`${source}: no such file or folder (install dataset-fashion-mnist or pass a path)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'puma-bench-import-'));
  const app = new PumaApp({ dbPath: path.join(dir, 'log.db'), launcher: forkJobLauncher(), mode: 'browser' });
  try {
    const gaps: number[] = [];
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      gaps.push(now - last);
      last = now;
    }, 5);
    let events = 0;
    const t0 = performance.now();
    const ended = new Promise<Events['datasets.imported']>((resolve) =>
      app.onEvent((m) => {
        if (m.name === 'datasets.progress') events++;
        if (m.name === 'datasets.imported') resolve(m.payload as Events['datasets.imported']);
      }),
    );
    const dispatchStart = performance.now();
    await app.dispatch('datasets.import', { path: source, name: 'bench' });
    const dispatchMs = performance.now() - dispatchStart;
    const end = await ended;
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(timer);
    if (end.error) throw new Error(end.error);
    gaps.sort((a, b) => a - b);
    const q = (p: number) => Math.round(gaps[Math.min(gaps.length - 1, Math.floor(p * gaps.length))]);
    console.log(
      JSON.stringify({
        source,
        samples: (end.dataset!.splits.train?.count ?? 0) + (end.dataset!.splits.test?.count ?? 0),
        seconds: Number(seconds.toFixed(2)),
        dispatch_ms: Math.round(dispatchMs),
        progress_events: events,
        loop_gap_ms: { p50: q(0.5), p99: q(0.99), max: Math.round(gaps[gaps.length - 1]) },
        cpus: os.cpus().length,
      }),
    );
  } finally {
    app.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
