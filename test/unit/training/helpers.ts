import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../../src-main/engine';
import { parseTrainConfig, type TrainConfig, type TrainConfigInput } from '../../../src-shared/domain/training';
import type { ArraySet } from '../../../src-main/engine/training';
import { SeededRandom } from '../../../src-shared/method/random';

export async function wasm(): Promise<void> {
  await initEngine('wasm');
}

/**
 * A 4-class toy image set (8×8×1): class k lights one quadrant (k) at intensity ~0.8 over noise.
 * Separable, so a tiny model clearly beats chance (25 %) within a few epochs.
 */
export function quadrantSet(n: number, seed: number): ArraySet {
  const rng = new SeededRandom(seed);
  const images = new Float32Array(n * 64);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % 4;
    labels[i] = k;
    const qy = k >> 1;
    const qx = k & 1;
    for (let y = 0; y < 8; y++)
      for (let x = 0; x < 8; x++) {
        const lit = y >> 2 === qy && x >> 2 === qx;
        images[i * 64 + y * 8 + x] = Math.min(1, Math.max(0, (lit ? 0.75 : 0.2) + 0.15 * rng.normal()));
      }
  }
  return { images, labels, shape: [n, 8, 8, 1] };
}

export function tinyConfig(over: TrainConfigInput = {}): TrainConfig {
  return parseTrainConfig({
    arch: 'mlp',
    width: 32,
    depth: 1,
    method: 'pgd_at',
    eps: 0.1,
    attack_steps: 3,
    lr: 0.05,
    weight_decay: 5e-4,
    batch_size: 32,
    epochs: 3,
    eval_every: 0,
    eval_attack_steps: 5,
    eval_batch_size: 128,
    ema_tau: 0.9,
    warmup_share: 0.1,
    ...over,
  });
}

export function weightsOf(model: tf.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => Float32Array.from(w.dataSync() as Float32Array));
}
