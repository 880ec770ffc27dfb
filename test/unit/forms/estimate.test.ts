import { describe, expect, it } from 'vitest';
import { parseTrainConfig } from '../../../src-shared/domain/training';
import { estimateTrainSeconds, referenceThroughput, throughputFromRun } from '../../../src-shared/method/estimate';

const FMNIST = { pool: 60_000, pixels: 784, workers: 1 };
const wasm = referenceThroughput('cnn-small', 'wasm')!;

describe('estimated training time', () => {
  it('reproduces README throughputs it was not fitted on', () => {
    // TRADES with 4 attack steps, one process: README measured 85.3 img/s.
    const trades4 = estimateTrainSeconds(parseTrainConfig({ method: 'trades', attack_steps: 4 }), wasm, FMNIST);
    expect(trades4.images_per_second).toBeGreaterThan(85.3 * 0.95);
    expect(trades4.images_per_second).toBeLessThan(85.3 * 1.05);
    // PGD-10 over 2 processes: README measured 72–76 img/s.
    const pgd2 = estimateTrainSeconds(parseTrainConfig({ method: 'pgd_at', attack_steps: 10 }), wasm, { ...FMNIST, workers: 2 });
    expect(pgd2.images_per_second).toBeGreaterThan(65);
    expect(pgd2.images_per_second).toBeLessThan(80);
  });

  it('the Models page defaults (cnn-small, PGD, 2 epochs, all 60k) take most of an hour; a 3000-image subset a few minutes', () => {
    const config = { arch: 'cnn-small', method: 'pgd_at', epochs: 2, eps: 0.1, strategy: 'none' };
    const all = estimateTrainSeconds(parseTrainConfig(config), wasm, FMNIST);
    expect(all.phases.training).toBeCloseTo((2 * 60_000 * (1 + 10 * 0.7)) / 330, 0);
    expect(all.seconds).toBeGreaterThan(40 * 60);
    expect(all.phases.margin_model + all.phases.margins).toBe(0);
    const subset = estimateTrainSeconds(parseTrainConfig({ ...config, train_subset: 3000 }), wasm, { ...FMNIST, pool: 3000 });
    expect(subset.phases.training).toBeCloseTo(all.phases.training / 20, 6);
    expect(subset.phases.evaluation).toBe(all.phases.evaluation); // the test images do not shrink
    expect(subset.seconds).toBeLessThan(10 * 60);
  });

  it('counts the margin model and margins PUMA needs, and not when a margin set is given', () => {
    const puma = estimateTrainSeconds(parseTrainConfig({ strategy: 'puma', prune_ratio: 0.2, margin_method: 'fast' }), wasm, FMNIST);
    expect(puma.phases.margin_model).toBeGreaterThan(0);
    // README: the fast margin of all 60k Fashion-MNIST images at ~30 samples/s in one process.
    expect(puma.phases.margins).toBeCloseTo(60_000 / 30, -1);
    const none = estimateTrainSeconds(parseTrainConfig({ strategy: 'none' }), wasm, FMNIST);
    expect(puma.phases.training).toBeCloseTo(none.phases.training * 0.8, 0);
    const given = estimateTrainSeconds(parseTrainConfig({ strategy: 'puma', prune_ratio: 0.2, margin_set: 'm.npy' }), wasm, FMNIST);
    expect(given.phases.margin_model + given.phases.margins).toBe(0);
  });

  it('a measured run predicts its own throughput back, and transfers to other attack steps', () => {
    const t = throughputFromRun({
      id: 7,
      imagesPerSecond: 120,
      method: 'trades',
      attackSteps: 4,
      workers: 2,
      pixels: 784,
      arch: 'cnn-small',
      backend: 'wasm',
    })!;
    expect(t.basis).toBe('measured in run 7 (cnn-small, wasm, 120 img/s)');
    const same = estimateTrainSeconds(parseTrainConfig({ method: 'trades', attack_steps: 4 }), t, { ...FMNIST, workers: 2 });
    expect(same.images_per_second).toBeCloseTo(120, 6);
    const more = estimateTrainSeconds(parseTrainConfig({ method: 'trades', attack_steps: 10 }), t, { ...FMNIST, workers: 2 });
    expect(more.images_per_second).toBeCloseTo((120 * 3.8) / 8, 6);
  });

  it('has no reference for a backend nobody measured', () => {
    expect(referenceThroughput('cnn-small', 'node-gpu')).toBeNull();
    expect(referenceThroughput('mlp', 'wasm')).toBeNull();
  });
});
