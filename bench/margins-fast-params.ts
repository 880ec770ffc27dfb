/**
 * Accuracy/cost trade-off of the fast margin's parameters (α, iMax, jMax) on real Fashion-MNIST
 * with the briefly trained cnn-small of bench/margins-model.ts: for each setting, samples/s,
 * gradient evaluations per sample, and agreement with DeepFool L∞ (fraction within 20 %, Spearman
 * rank correlation), the acceptance criteria of the fast margin.
 *
 *   npx tsx bench/margins-fast-params.ts [--n 256] [--settings '1/255:50:10,2/255:40:8,4/255:25:7']
 */
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../src-main/engine';
import { computeDeepFoolMargins, computeFastMargins } from '../src-main/engine/margins';
import { forkJobLauncher } from '../src-main/jobs/fork-launcher';
import { PumaApp } from '../src-main/services/app';
import { DatasetService } from '../src-main/services/datasets';
import { loadModelFromDir } from '../src-main/services/models';
import { trainedCnnSmall } from './margins-model';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    n: { type: 'string', default: '256' },
    offset: { type: 'string', default: '20000' },
    settings: { type: 'string', default: '1/255:50:10,2/255:40:8,3/255:30:7,4/255:25:7,6/255:20:7' },
    source: { type: 'string', default: '/usr/share/datasets/fashion-mnist' },
    'model-cache': { type: 'string', default: path.join(os.tmpdir(), 'puma-bench-models') },
  },
});

function ranks(v: Float32Array): Float64Array {
  const order = Array.from(v.keys()).sort((a, b) => v[a]! - v[b]!);
  const r = new Float64Array(v.length);
  order.forEach((i, k) => (r[i] = k));
  return r;
}

function spearman(a: Float32Array, b: Float32Array): number {
  const ra = ranks(a);
  const rb = ranks(b);
  const n = a.length;
  const mean = (n - 1) / 2;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < n; i++) {
    num += (ra[i]! - mean) * (rb[i]! - mean);
    da += (ra[i]! - mean) ** 2;
    db += (rb[i]! - mean) ** 2;
  }
  return num / Math.sqrt(da * db);
}

async function main() {
  const engine = await initEngine(values.backend);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'puma-bench-fast-params-'));
  const app = new PumaApp({ dbPath: path.join(dir, 'log.db'), launcher: forkJobLauncher(), mode: 'browser' });
  try {
    const datasets = new DatasetService(app.db, app.dataDir);
    const fmnist = await datasets.importDataset({ path: values.source!, name: 'fashion-mnist' });
    const reader = datasets.openSplit(fmnist.id, 'train');
    const trained = await trainedCnnSmall(reader, values['model-cache']!);
    const model = await loadModelFromDir(trained.dir);
    const n = Number(values.n);
    const offset = Number(values.offset); // past the model's training images
    const x = tf.tensor4d(
      Float32Array.from(reader.readRange(offset, n), (v) => v / 255),
      [n, 28, 28, 1],
    );
    const y = Int32Array.from(reader.labels.subarray(offset, offset + n));
    reader.close();

    let t0 = performance.now();
    const deepfool = computeDeepFoolMargins(model, x, y, { norm: 'linf' });
    const out: Record<string, unknown> = {
      bench: 'margins-fast-params',
      backend: engine.backend,
      n,
      load: os.loadavg()[0],
      deepfool: {
        samples_per_s: n / ((performance.now() - t0) / 1000),
        grad_evals_per_sample: deepfool.gradEvals / n,
        mean_margin: deepfool.margins.reduce((a, b) => a + Math.abs(b), 0) / n,
      },
    };
    const rows: unknown[] = [];
    for (const setting of values.settings!.split(',')) {
      const [alphaText, iMax, jMax] = setting.split(':');
      const [num, den] = alphaText!.split('/');
      const stepSize = den ? Number(num) / Number(den) : Number(num);
      t0 = performance.now();
      const fast = computeFastMargins(model, x, y, { stepSize, iMax: Number(iMax), jMax: Number(jMax) });
      const seconds = (performance.now() - t0) / 1000;
      let within = 0;
      for (let i = 0; i < n; i++) if (Math.abs(fast.margins[i]! - deepfool.margins[i]!) <= 0.2 * Math.abs(deepfool.margins[i]!)) within++;
      rows.push({
        setting,
        stepSize,
        samples_per_s: n / seconds,
        grad_evals_per_sample: fast.gradEvals / n,
        forward_evals_per_sample: fast.forwardEvals / n,
        within_20pct_of_deepfool: within / n,
        spearman_vs_deepfool: spearman(fast.margins, deepfool.margins),
        not_flipped: n - fast.converged.reduce((a, b) => a + b, 0),
      });
    }
    out.fast = rows;
    x.dispose();
    model.dispose();
    console.log(JSON.stringify(out, null, 2));
  } finally {
    app.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`bench/margins-fast-params.ts: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
