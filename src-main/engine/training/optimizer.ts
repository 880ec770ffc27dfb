/**
 * SGD with momentum, optional Nesterov and decoupled-from-BN weight decay, PyTorch semantics:
 *   g ← ∇ + wd·w (decayed weights only);  b ← μ·b + g;  d ← nesterov ? g + μ·b : b;  w ← w − lr·d
 * Its state (one momentum buffer per variable) is plain arrays so checkpoints restore it exactly.
 */
import * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from '../../../src-shared/domain/training';

export interface SgdOptions {
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
}

/** Batch-norm γ/β and biases get no weight decay (the recipe's "none on BN parameters"). */
export function isDecayed(variableName: string, shape: number[]): boolean {
  if (/batch_normalization|gamma|beta|moving_/i.test(variableName)) return false;
  return shape.length > 1;
}

export class Sgd {
  private readonly buffers = new Map<string, tf.Variable>();

  constructor(
    readonly variables: tf.Variable[],
    readonly options: SgdOptions,
  ) {
    const names = new Set<string>();
    for (const v of variables) {
      if (names.has(v.name)) throw new Error(`src-main/engine/training/optimizer.ts: two variables named ${v.name}`);
      names.add(v.name);
    }
  }

  /** Applies one update with learning rate `lr`; `grads` maps variable name → gradient. */
  apply(grads: Record<string, tf.Tensor>, lr: number): void {
    const { momentum: mu, nesterov, weightDecay } = this.options;
    for (const v of this.variables) {
      const grad = grads[v.name];
      if (!grad) continue;
      tf.tidy(() => {
        let g: tf.Tensor = grad;
        if (weightDecay > 0 && isDecayed(v.name, v.shape)) g = tf.add(g, tf.mul(v, weightDecay));
        let direction: tf.Tensor = g;
        if (mu > 0) {
          let buf = this.buffers.get(v.name);
          if (!buf) {
            // PyTorch starts the buffer at the first gradient itself.
            buf = tf.variable(g, false, `${v.name}/momentum`.replace(/[^A-Za-z0-9_./-]/g, '_'));
            this.buffers.set(v.name, buf);
          } else buf.assign(tf.add(tf.mul(buf, mu), g));
          direction = nesterov ? tf.add(g, tf.mul(buf, mu)) : buf;
        }
        v.assign(tf.sub(v, tf.mul(direction, lr)));
      });
    }
  }

  /** Momentum buffers keyed by the variable's position (names differ between processes). */
  getState(): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {};
    this.variables.forEach((v, i) => {
      const b = this.buffers.get(v.name);
      if (b) out[`momentum/${i}`] = Float32Array.from(b.dataSync() as Float32Array);
    });
    return out;
  }

  setState(state: Record<string, Float32Array>): void {
    this.dispose();
    for (const [key, data] of Object.entries(state)) {
      const m = /^momentum\/(\d+)$/.exec(key);
      if (!m) continue;
      const v = this.variables[Number(m[1])];
      if (!v) throw new Error(`src-main/engine/training/optimizer.ts: checkpoint has momentum for variable ${m[1]}, the model has ${this.variables.length}`);
      if (data.length !== v.size)
        throw new Error(`src-main/engine/training/optimizer.ts: momentum ${m[1]} has ${data.length} values, variable ${v.name} ${v.size}`);
      this.buffers.set(v.name, tf.variable(tf.tensor(data, v.shape), false));
    }
  }

  dispose(): void {
    for (const b of this.buffers.values()) b.dispose();
    this.buffers.clear();
  }
}

/** The optimiser a training config asks for, over `variables`. */
export function sgdFor(c: Pick<TrainConfig, 'momentum' | 'nesterov' | 'weight_decay'>, variables: tf.Variable[]): Sgd {
  return new Sgd(variables, { momentum: c.momentum, nesterov: c.nesterov, weightDecay: c.weight_decay });
}
