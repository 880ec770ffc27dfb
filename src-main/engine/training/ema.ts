/**
 * Exponential moving average of the weights (the recipe's weight averaging): a plain copy during
 * the first `warmupSteps` steps, then w_ema ← d·w_ema + (1 − d)·w with d = min(τ, (1+Δ)/(10+Δ)),
 * Δ = steps since the warm-up. Batch-norm running statistics are copied from the live model
 * (`copyBuffers`, once per epoch). τ = 0 makes the EMA model equal to the live model.
 */
import * as tf from '@tensorflow/tfjs';

export function emaDecay(step: number, tau: number, warmupSteps: number): number {
  if (step < warmupSteps) return 0;
  const delta = step - warmupSteps;
  return Math.min(tau, (1 + delta) / (10 + delta));
}

export class WeightAverage {
  constructor(
    readonly live: tf.LayersModel,
    readonly ema: tf.LayersModel,
    readonly tau: number,
    readonly warmupSteps: number,
  ) {
    if (live.weights.length !== ema.weights.length) {
      throw new Error('src-main/engine/training/ema.ts: the live and EMA models have different weights');
    }
  }

  /** Called after optimiser step number `step` (0-based). */
  update(step: number): void {
    const d = emaDecay(step, this.tau, this.warmupSteps);
    const live = this.live.trainableWeights;
    const ema = this.ema.trainableWeights;
    tf.tidy(() => {
      for (let i = 0; i < live.length; i++) {
        const w = live[i]!.read();
        const e = ema[i]!;
        e.write(d === 0 ? w.clone() : tf.add(tf.mul(e.read(), d), tf.mul(w, 1 - d)));
      }
    });
  }

  /** Copies the non-trainable weights (batch-norm running mean/variance) from the live model. */
  copyBuffers(): void {
    const live = this.live.nonTrainableWeights;
    const ema = this.ema.nonTrainableWeights;
    tf.tidy(() => {
      for (let i = 0; i < live.length; i++) ema[i]!.write(live[i]!.read().clone());
    });
  }

  /** Copies everything from the live model (start of training). */
  reset(): void {
    this.ema.setWeights(this.live.getWeights());
  }
}
