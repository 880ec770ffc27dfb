/**
 * Margin estimator throughput: DeepFool L∞ and the fast margin on N random 28×28×1 images with a
 * cnn-small-sized model (random weights, random labels so both signs occur).
 *
 *   npx tsx bench/margins.ts [--backend cpu|wasm] [--n 8 on cpu, 32 otherwise] [--repeats 3] [--candidates 10]
 *
 * Prints one JSON object; times are the best of `repeats` runs (the machine is shared).
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { computeDeepFoolMargins, computeFastMargins, type MarginResult } from '../src-main/engine/margins';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'cpu' },
    n: { type: 'string' },
    repeats: { type: 'string', default: '3' },
    candidates: { type: 'string', default: '10' },
    'step-size': { type: 'string', default: String(1 / 255) },
    'i-max': { type: 'string', default: '50' },
    'j-max': { type: 'string', default: '10' },
  },
});

async function setBackend(name: string): Promise<{ backend: string; notes: string[] }> {
  const notes: string[] = [];
  if (name !== 'cpu') {
    try {
      // The engine (backend ladder, fast wasm gradients) is optional for this bench.
      const enginePath = '../src-main/engine';
      const engine = (await import(enginePath)) as { initEngine?: (b: string) => Promise<{ notes?: string[] }> };
      if (typeof engine.initEngine === 'function') {
        const info = await engine.initEngine(name);
        notes.push(...(info.notes ?? []));
        return { backend: tf.getBackend(), notes };
      }
      notes.push('src-main/engine has no initEngine');
    } catch (error) {
      notes.push(`engine import failed: ${(error as Error).message}`);
    }
    notes.push(`falling back to cpu instead of ${name}`);
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return { backend: tf.getBackend(), notes };
}

function cnnSmall(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 32,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: tf.initializers.heNormal({ seed: 1 }),
      }),
      tf.layers.conv2d({
        filters: 64,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: tf.initializers.heNormal({ seed: 2 }),
      }),
      tf.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed: 3 }) }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 128, activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed: 4 }) }),
      tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) }),
    ],
  });
}

function bestOf(repeats: number, run: () => MarginResult): { seconds: number; result: MarginResult; all: number[] } {
  const all: number[] = [];
  let result!: MarginResult;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    result = run();
    all.push((performance.now() - t0) / 1000);
  }
  return { seconds: Math.min(...all), result, all };
}

function report(n: number, timing: ReturnType<typeof bestOf>) {
  const { result, seconds } = timing;
  const converged = result.converged.reduce((s, v) => s + v, 0);
  return {
    samples_per_s: n / seconds,
    grad_evals_per_sample: result.gradEvals / n,
    forward_evals_per_sample: result.forwardEvals / n,
    mean_iterations: result.iterations.reduce((s, v) => s + v, 0) / n,
    converged_fraction: converged / n,
    mean_abs_margin: result.margins.reduce((s, v) => s + Math.abs(v), 0) / n,
    best_seconds: seconds,
    all_seconds: timing.all.map((s) => Number(s.toFixed(3))),
  };
}

async function main() {
  // The pure-JS cpu backend needs ~3 s per sample here; wasm ~0.1 s.
  const n = Number(values.n ?? (values.backend === 'cpu' ? 8 : 32));
  const repeats = Number(values.repeats);
  const { backend, notes } = await setBackend(values.backend!);
  const model = cnnSmall();
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const x = tf.tensor4d(Float32Array.from({ length: n * 784 }, rand), [n, 28, 28, 1]);
  const y = Int32Array.from({ length: n }, () => Math.floor(rand() * 10));
  computeFastMargins(model, x.slice(0, 2), y.slice(0, 2), { stepSize: 0.01, iMax: 1, jMax: 1 }); // warm-up

  const deepfool = bestOf(repeats, () => computeDeepFoolMargins(model, x, y, { norm: 'linf', candidates: Number(values.candidates) }));
  const fast = bestOf(repeats, () =>
    computeFastMargins(model, x, y, { stepSize: Number(values['step-size']), iMax: Number(values['i-max']), jMax: Number(values['j-max']) }),
  );
  console.log(
    JSON.stringify(
      {
        bench: 'margins',
        backend,
        requested_backend: values.backend,
        notes,
        model: 'cnn-small 28x28x1 (random weights)',
        n,
        repeats,
        deepfool_linf: report(n, deepfool),
        fast_margin: report(n, fast),
        tensors_alive: tf.memory().numTensors,
      },
      null,
      2,
    ),
  );
  x.dispose();
}

main().catch((error) => {
  console.error(`bench/margins.ts: ${(error as Error).stack ?? error}`);
  process.exit(1);
});
