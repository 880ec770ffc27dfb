// Model registry. All models: tf.LayersModel (saveable as TF.js Layers models), inputs in [0,1]
// NHWC, optional per-channel normalisation inside the model, outputs logits (no softmax).
import * as tf from '@tensorflow/tfjs';
import { NormalizeLayer } from './normalize-layer';
import { conv2dBiasRelu, fastGradientsInstalled } from '../fast-gradients';
import { normalSamplerSeed } from '../random-seed';
import { TRAIN_ARCHITECTURES as ARCHITECTURES } from '../../../src-shared/domain/training';

// The architectures built here are the ones a training config may name (one list, in src-shared).
export { ARCHITECTURES };
export type Architecture = (typeof ARCHITECTURES)[number];

export interface CreateModelOptions {
  inputShape: [number, number, number];
  numClasses: number;
  normalization?: { mean: number[]; std: number[] };
  /** mlp: hidden units (default 512); resnets: base channels (default 64); wrn: widen factor (default 10). */
  width?: number;
  /** mlp: hidden layers (default 2); wrn: depth, 6n+4 (default 28). Ignored by the others. */
  depth?: number;
  /** Seed for weight initialisation (deterministic models for tests). */
  seed?: number;
}

type SymTensor = tf.SymbolicTensor;

/**
 * Runs a conv layer with bias and ReLU through one fused kernel also while training (tfjs splits
 * it into conv, add and relu under a gradient tape). Only the instance's call changes, so the
 * layer's class, config and weights (and saved models) stay those of a plain Conv2D.
 */
function fuseBiasRelu(layer: tf.layers.Layer, stride: number): void {
  const conv = layer as unknown as {
    call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[];
    kernel: { read(): tf.Tensor };
    bias: { read(): tf.Tensor } | null;
  };
  const original = conv.call.bind(layer);
  conv.call = (inputs, kwargs) => {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    // Off wasm (or without the fast kernels) the stock path is already fused where it can be.
    if (conv.bias == null || x.rank !== 4 || x.dtype !== 'float32' || !fastGradientsInstalled() || tf.getBackend() !== 'wasm') return original(inputs, kwargs);
    return conv2dBiasRelu(x as tf.Tensor4D, conv.kernel.read() as tf.Tensor4D, conv.bias.read() as tf.Tensor1D, [stride, stride], 'same');
  };
}

class Builder {
  private counter = 0;
  constructor(private readonly seed: number | undefined) {}

  private init(): ReturnType<typeof tf.initializers.heNormal> {
    const seed = this.seed == null ? undefined : normalSamplerSeed(this.seed + this.counter++);
    return tf.initializers.heNormal({ seed });
  }

  conv(x: SymTensor, filters: number, kernel: number, stride: number, useBias: boolean, activation?: string): SymTensor {
    const layer = tf.layers.conv2d({
      filters,
      kernelSize: kernel,
      strides: stride,
      padding: 'same',
      useBias,
      kernelInitializer: this.init(),
      activation: activation as 'relu' | undefined,
    });
    if (useBias && activation === 'relu') fuseBiasRelu(layer, stride);
    return layer.apply(x) as SymTensor;
  }

  dense(x: SymTensor, units: number, activation?: string): SymTensor {
    return tf.layers.dense({ units, activation: activation as 'relu' | undefined, kernelInitializer: this.init() }).apply(x) as SymTensor;
  }

  bn(x: SymTensor): SymTensor {
    // momentum 0.9 == PyTorch's momentum 0.1
    return tf.layers.batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5 }).apply(x) as SymTensor;
  }

  act(x: SymTensor, activation: 'relu' | 'swish'): SymTensor {
    return tf.layers.activation({ activation }).apply(x) as SymTensor;
  }

  add(a: SymTensor, b: SymTensor): SymTensor {
    return tf.layers.add().apply([a, b]) as SymTensor;
  }
}

function validate(arch: string, opts: CreateModelOptions): asserts arch is Architecture {
  if (!(ARCHITECTURES as readonly string[]).includes(arch)) {
    throw new Error(`models/index.ts: unknown architecture '${arch}'; known: ${ARCHITECTURES.join(', ')}`);
  }
  const s = opts.inputShape;
  if (!Array.isArray(s) || s.length !== 3 || s.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new Error(`models/index.ts: inputShape must be [height, width, channels] of positive integers, got ${JSON.stringify(s)}`);
  }
  if (!Number.isInteger(opts.numClasses) || opts.numClasses < 2) {
    throw new Error(`models/index.ts: numClasses must be an integer >= 2, got ${opts.numClasses}`);
  }
  const norm = opts.normalization;
  if (norm != null && (norm.mean.length !== s[2] || norm.std.length !== s[2])) {
    throw new Error(`models/index.ts: normalization needs one mean and one std per input channel (${s[2]}), got ${norm.mean.length} and ${norm.std.length}`);
  }
  if (arch === 'wrn' && opts.depth != null && (opts.depth - 4) % 6 !== 0) {
    throw new Error(`models/index.ts: wrn depth must be 6n+4 (e.g. 16, 28, 34), got ${opts.depth}`);
  }
}

function basicBlock(b: Builder, x: SymTensor, filters: number, stride: number, inFilters: number): SymTensor {
  let y = b.conv(x, filters, 3, stride, false);
  y = b.act(b.bn(y), 'relu');
  y = b.bn(b.conv(y, filters, 3, 1, false));
  const shortcut = stride !== 1 || inFilters !== filters ? b.bn(b.conv(x, filters, 1, stride, false)) : x;
  return b.act(b.add(y, shortcut), 'relu');
}

/** Pre-activation block (He et al. 2016); used by preact-resnet18 and wrn. */
function preactBlock(b: Builder, x: SymTensor, filters: number, stride: number, inFilters: number, act: 'relu' | 'swish'): SymTensor {
  const pre = b.act(b.bn(x), act);
  const shortcut = stride !== 1 || inFilters !== filters ? b.conv(pre, filters, 1, stride, false) : x;
  let y = b.conv(pre, filters, 3, stride, false);
  y = b.conv(b.act(b.bn(y), act), filters, 3, 1, false);
  return b.add(y, shortcut);
}

export function createModel(arch: string, opts: CreateModelOptions): tf.LayersModel {
  validate(arch, opts);
  const b = new Builder(opts.seed);
  const input = tf.input({ shape: opts.inputShape, name: 'image' });
  let x: SymTensor = input;
  if (opts.normalization != null) {
    x = new NormalizeLayer({ ...opts.normalization, name: 'normalize' }).apply(x) as SymTensor;
  }
  switch (arch) {
    case 'cnn-small': {
      x = b.conv(x, 32, 3, 1, true, 'relu');
      x = b.conv(x, 64, 3, 2, true, 'relu');
      x = b.conv(x, 64, 3, 1, true, 'relu');
      x = tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }).apply(x) as SymTensor;
      x = tf.layers.flatten().apply(x) as SymTensor;
      x = b.dense(x, 128, 'relu');
      break;
    }
    case 'mlp': {
      const width = opts.width ?? 512;
      const depth = opts.depth ?? 2;
      x = tf.layers.flatten().apply(x) as SymTensor;
      for (let i = 0; i < depth; i++) x = b.dense(x, width, 'relu');
      break;
    }
    case 'resnet18': {
      const w = opts.width ?? 64;
      x = b.act(b.bn(b.conv(x, w, 3, 1, false)), 'relu');
      let inF = w;
      for (const [mult, stride] of [
        [1, 1],
        [2, 2],
        [4, 2],
        [8, 2],
      ] as const) {
        x = basicBlock(b, x, w * mult, stride, inF);
        x = basicBlock(b, x, w * mult, 1, w * mult);
        inF = w * mult;
      }
      x = tf.layers.globalAveragePooling2d({}).apply(x) as SymTensor;
      break;
    }
    case 'preact-resnet18': {
      const w = opts.width ?? 64;
      x = b.conv(x, w, 3, 1, false);
      let inF = w;
      for (const [mult, stride] of [
        [1, 1],
        [2, 2],
        [4, 2],
        [8, 2],
      ] as const) {
        x = preactBlock(b, x, w * mult, stride, inF, 'relu');
        x = preactBlock(b, x, w * mult, 1, w * mult, 'relu');
        inF = w * mult;
      }
      x = b.act(b.bn(x), 'relu');
      x = tf.layers.globalAveragePooling2d({}).apply(x) as SymTensor;
      break;
    }
    case 'wrn': {
      const depth = opts.depth ?? 28;
      const k = opts.width ?? 10;
      const n = (depth - 4) / 6;
      x = b.conv(x, 16, 3, 1, false);
      let inF = 16;
      for (const [filters, stride] of [
        [16 * k, 1],
        [32 * k, 2],
        [64 * k, 2],
      ] as const) {
        for (let i = 0; i < n; i++) {
          x = preactBlock(b, x, filters, i === 0 ? stride : 1, inF, 'swish');
          inF = filters;
        }
      }
      x = b.act(b.bn(x), 'swish');
      x = tf.layers.globalAveragePooling2d({}).apply(x) as SymTensor;
      break;
    }
  }
  const logits = tf.layers
    .dense({ units: opts.numClasses, kernelInitializer: tf.initializers.glorotUniform({ seed: opts.seed }), name: 'logits' })
    .apply(x) as SymTensor;
  return tf.model({ inputs: input, outputs: logits, name: arch });
}
