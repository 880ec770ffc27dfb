// Per-channel (x - mean) / std inside the model, so saved models take inputs in [0,1].
// Registered with tf.serialization so tf.loadLayersModel can restore it.
import * as tf from '@tensorflow/tfjs';

export interface NormalizeLayerArgs {
  mean: number[];
  std: number[];
  name?: string;
}

export class NormalizeLayer extends tf.layers.Layer {
  static className = 'PumaNormalize';
  readonly mean: number[];
  readonly std: number[];

  constructor(args: NormalizeLayerArgs) {
    super({ name: args.name });
    if (args.mean.length !== args.std.length) {
      throw new Error(`normalize-layer.ts: mean has ${args.mean.length} entries but std has ${args.std.length}`);
    }
    if (args.std.some((s) => !(s > 0))) {
      throw new Error(`normalize-layer.ts: every std must be > 0, got [${args.std.join(', ')}]`);
    }
    this.mean = [...args.mean];
    this.std = [...args.std];
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.tidy(() => {
      const scale = tf.tensor1d(this.std.map((s) => 1 / s));
      const offset = tf.tensor1d(this.mean.map((m, i) => -m / this.std[i]));
      return tf.add(tf.mul(x, scale), offset);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), mean: this.mean, std: this.std };
  }
}

tf.serialization.registerClass(NormalizeLayer);
