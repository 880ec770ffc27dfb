/**
 * TF.js layers that compute exactly what PyTorch's do, built from a state_dict's keys: each conv,
 * BN and linear layer remembers the PyTorch prefix its weights come from. Differences handled:
 * PyTorch pads `padding` pixels on every side (TF.js 'same' pads 0 before / 1 after at stride 2,
 * a different result), so strided convs get an explicit ZeroPadding2D and 'valid'; BN ε = 1e-5;
 * OIHW → HWIO kernels; Linear (out, in) → Dense (in, out).
 */
import * as tf from '@tensorflow/tfjs';
import { NormalizeLayer } from '../normalize-layer';

type Sym = tf.SymbolicTensor;

/** A state_dict's tensor shapes (the weights themselves are copied later, by `weightsFor`). */
export type Shapes = ReadonlyMap<string, readonly number[]>;

export type LayerKind = 'conv' | 'bn' | 'dense';

/** Called as soon as a layer with weights is built: its PyTorch source can be loaded into it right away. */
export type OnWeights = (layer: tf.layers.Layer, kind: LayerKind, prefix: string) => void;

export class TorchGraph {
  /** TF.js layer name → where its weights come from. */
  readonly sources = new Map<string, { kind: LayerKind; prefix: string }>();
  /** State_dict keys the graph uses (the rest are unknown keys). */
  readonly used = new Set<string>();
  private n = 0;

  constructor(
    private readonly shapes: Shapes,
    private readonly where: string,
    private readonly onWeights?: OnWeights,
  ) {}

  /** Layers with weights built so far (disposed by `disposeLayers` when building fails half-way). */
  private readonly layers: tf.layers.Layer[] = [];

  disposeLayers(): void {
    for (const l of this.layers) if (l.built) l.dispose();
  }

  private built(layer: tf.layers.Layer, x: Sym, kind: LayerKind, prefix: string): Sym {
    this.layers.push(layer);
    const y = layer.apply(x) as Sym;
    this.sources.set(layer.name, { kind, prefix });
    this.onWeights?.(layer, kind, prefix);
    return y;
  }

  has(key: string): boolean {
    return this.shapes.has(key);
  }

  /** The shape of `key`, required (a missing key is an error naming it). */
  shape(key: string, rank?: number): readonly number[] {
    const s = this.shapes.get(key);
    if (!s) throw new Error(`${this.where}: the state_dict has no '${key}', which this architecture needs (missing key)`);
    if (rank !== undefined && s.length !== rank)
      throw new Error(`${this.where}: '${key}' has shape [${s.join(', ')}], a ${rank}-d tensor is expected (shape mismatch)`);
    this.used.add(key);
    return s;
  }

  private name(prefix: string): string {
    return `${prefix.replace(/[^\w]/g, '_') || 'w'}_${this.n++}`;
  }

  /** nn.Conv2d(bias=False) `prefix`: `pad` = [top, bottom, left, right] zeros, then a 'valid' conv. */
  conv(x: Sym, prefix: string, stride: number, pad: [number, number, number, number], inChannels: number): Sym {
    const [out, inC, kh, kw] = this.shape(`${prefix}.weight`, 4) as [number, number, number, number];
    if (inC !== inChannels)
      throw new Error(`${this.where}: '${prefix}.weight' takes ${inC} input channels, the layer before gives ${inChannels} (shape mismatch)`);
    const useBias = this.has(`${prefix}.bias`);
    if (useBias) this.expect(`${prefix}.bias`, [out]);
    if (pad.some((p) => p > 0)) {
      x = tf.layers
        .zeroPadding2d({
          padding: [
            [pad[0], pad[1]],
            [pad[2], pad[3]],
          ],
          name: this.name(`${prefix}_pad`),
        })
        .apply(x) as Sym;
    }
    return this.built(
      tf.layers.conv2d({ filters: out, kernelSize: [kh, kw], strides: stride, padding: 'valid', useBias, name: this.name(prefix) }),
      x,
      'conv',
      prefix,
    );
  }

  /** nn.BatchNorm2d `prefix` over `channels`, in inference (running statistics, ε = 1e-5). */
  bn(x: Sym, prefix: string, channels: number): Sym {
    for (const p of ['weight', 'bias', 'running_mean', 'running_var']) this.expect(`${prefix}.${p}`, [channels]);
    return this.built(tf.layers.batchNormalization({ axis: -1, epsilon: 1e-5, momentum: 0.9, name: this.name(prefix) }), x, 'bn', prefix);
  }

  /** nn.Linear `prefix` on `features` inputs; returns the output and its size. */
  dense(x: Sym, prefix: string, features: number): { y: Sym; units: number } {
    const [units, inF] = this.shape(`${prefix}.weight`, 2) as [number, number];
    if (inF !== features) throw new Error(`${this.where}: '${prefix}.weight' takes ${inF} features, the network gives ${features} (shape mismatch)`);
    this.expect(`${prefix}.bias`, [units]);
    return { y: this.built(tf.layers.dense({ units, name: this.name(prefix) }), x, 'dense', prefix), units };
  }

  act(x: Sym, activation: 'relu' | 'silu'): Sym {
    // TF.js 'swish' is x·sigmoid(x): PyTorch's SiLU
    return tf.layers.activation({ activation: activation === 'silu' ? 'swish' : 'relu', name: this.name(activation) }).apply(x) as Sym;
  }

  add(a: Sym, b: Sym): Sym {
    return tf.layers.add({ name: this.name('add') }).apply([a, b]) as Sym;
  }

  /** Global average pooling: PyTorch's avg_pool2d over the whole final map. */
  pool(x: Sym): Sym {
    return tf.layers.globalAveragePooling2d({ name: this.name('avgpool') }).apply(x) as Sym;
  }

  normalize(x: Sym, norm: { mean: number[]; std: number[] }): Sym {
    return new NormalizeLayer({ ...norm, name: 'normalize' }).apply(x) as Sym;
  }

  private expect(key: string, shape: number[]): void {
    const s = this.shape(key);
    if (s.length !== shape.length || s.some((d, i) => d !== shape[i])) {
      throw new Error(`${this.where}: '${key}' has shape [${s.join(', ')}], [${shape.join(', ')}] expected (shape mismatch)`);
    }
  }
}

/** PyTorch padding=p on every side. */
export const padAll = (p: number): [number, number, number, number] => [p, p, p, p];
/** The DeepMind models' F.pad(x, (0, 1, 0, 1)) before a stride-2 conv (TF 'SAME'). */
export const PAD_SAME_STRIDE2: [number, number, number, number] = [0, 1, 0, 1];

/**
 * One layer's weights in TF.js order and layout, from its PyTorch tensors: conv kernel OIHW →
 * HWIO (+ bias), BN [gamma, beta, moving_mean, moving_variance], dense (out, in) → (in, out) + bias.
 */
export function weightsFor(kind: LayerKind, prefix: string, get: (key: string) => { shape: number[]; data: Float32Array } | undefined): Float32Array[] {
  const need = (key: string) => get(key) ?? fail(key);
  const fail = (key: string): never => {
    throw new Error(`pytorch/layers.ts: '${key}' vanished between building and loading`);
  };
  if (kind === 'bn') return ['weight', 'bias', 'running_mean', 'running_var'].map((p) => need(`${prefix}.${p}`).data);
  const w = need(`${prefix}.weight`);
  const out: Float32Array[] = [];
  if (kind === 'conv') {
    const [o, i, h, k] = w.shape as [number, number, number, number];
    const t = new Float32Array(w.data.length);
    for (let a = 0; a < o; a++)
      for (let b = 0; b < i; b++)
        for (let c = 0; c < h; c++) for (let d = 0; d < k; d++) t[((c * k + d) * i + b) * o + a] = w.data[((a * i + b) * h + c) * k + d]!;
    out.push(t);
  } else {
    const [o, i] = w.shape as [number, number];
    const t = new Float32Array(w.data.length);
    for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) t[b * o + a] = w.data[a * i + b]!;
    out.push(t);
  }
  const bias = get(`${prefix}.bias`); // convs have none
  if (bias) out.push(bias.data);
  return out;
}
