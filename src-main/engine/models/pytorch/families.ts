/**
 * The PyTorch architectures PUMA Lab imports, with the key naming of their public code, and
 * `--arch auto`: the family from the key names, depth/width/classes from the tensor shapes.
 *   resnet18            ResNet-18, BasicBlock, 1×1 conv + BN shortcut (conv1, bn1, layerL.B, linear)
 *   preact-resnet18     PreActResNet-18, 1×1 shortcut on the activated input (conv1, layerL.B.bn1, [bn], linear)
 *   wrn                 WideResNet with ReLU (conv1, blockG.layer.B, convShortcut, bn1, fc)
 *   dm-wrn              DeepMind WideResNet with SiLU (init_conv, layer.G.block.B.batchnorm_0, conv_0, shortcut, logits)
 *   dm-preact-resnet18  DeepMind PreActResNet with SiLU (conv_2d, layer_L.B.conv_2d_1, 3×3 shortcut, logits)
 */
import * as tf from '@tensorflow/tfjs';
import { PYTORCH_ARCHS, type PytorchArch } from '../../../../src-shared/domain/models';
import { PAD_SAME_STRIDE2, padAll, TorchGraph, type OnWeights, type Shapes } from './layers';

export { PYTORCH_ARCHS, type PytorchArch };

/** The normalisation each family's public class applies when none is given (DM classes: CIFAR-10's). */
export const NORMALIZATIONS = {
  cifar10: { mean: [0.4914, 0.4822, 0.4465], std: [0.2471, 0.2435, 0.2616] },
  cifar100: { mean: [0.5071, 0.4865, 0.4409], std: [0.2673, 0.2564, 0.2762] },
} as const;
export const FAMILY_DEFAULT_NORMALIZATION: Record<PytorchArch, keyof typeof NORMALIZATIONS | null> = {
  resnet18: null,
  'preact-resnet18': null,
  wrn: null,
  'dm-wrn': 'cifar10',
  'dm-preact-resnet18': 'cifar10',
};

/** The public classes pool a fixed 4×4 / 8×8 final map: they take 32×32 images. */
export const PYTORCH_IMAGE_SIZE = 32;

export interface Recognised {
  arch: PytorchArch;
  /** Layers (18, 34 for resnets; 6n+4 for WRNs). */
  depth: number;
  /** Base channels (resnets) or widen factor (WRNs). */
  width: number;
  numClasses: number;
  inChannels: number;
}

/** Blocks per stage, from `<stage><i>.` prefixes (e.g. layer1.0., layer1.1.). */
function blockCounts(keys: string[], stage: (s: number) => string, stages: number): number[] {
  const counts: number[] = [];
  for (let s = 0; s < stages; s++) {
    const pre = stage(s);
    const ids = new Set(keys.filter((k) => k.startsWith(pre)).map((k) => Number(k.slice(pre.length).split('.')[0])));
    counts.push(ids.size);
  }
  return counts;
}

const resnetDepth = (c: number[]) => 2 + 2 * c.reduce((a, b) => a + b, 0);

/** The family and sizes of a state_dict, from its keys and shapes; an error naming what was found otherwise. */
export function recognise(shapes: Shapes, where: string): Recognised {
  const keys = [...shapes.keys()];
  const dim = (k: string, i: number) => shapes.get(k)![i]!;
  const has = (k: string) => shapes.has(k);
  if (has('init_conv.weight') && has('logits.weight')) {
    const n = blockCounts(keys, () => 'layer.0.block.', 1)[0]!;
    const width = dim('layer.0.block.0.conv_0.weight', 0) / 16;
    return { arch: 'dm-wrn', depth: 6 * n + 4, width, numClasses: dim('logits.weight', 0), inChannels: dim('init_conv.weight', 1) };
  }
  if (has('conv_2d.weight') && has('logits.weight')) {
    const c = blockCounts(keys, (s) => `layer_${s}.`, 4);
    return {
      arch: 'dm-preact-resnet18',
      depth: resnetDepth(c),
      width: dim('conv_2d.weight', 0),
      numClasses: dim('logits.weight', 0),
      inChannels: dim('conv_2d.weight', 1),
    };
  }
  if (has('conv1.weight') && has('block1.layer.0.conv1.weight') && has('fc.weight')) {
    const n = blockCounts(keys, () => 'block1.layer.', 1)[0]!;
    return {
      arch: 'wrn',
      depth: 6 * n + 4,
      width: dim('block1.layer.0.conv1.weight', 0) / 16,
      numClasses: dim('fc.weight', 0),
      inChannels: dim('conv1.weight', 1),
    };
  }
  if (has('conv1.weight') && has('layer1.0.conv1.weight') && has('linear.weight')) {
    const c = blockCounts(keys, (s) => `layer${s + 1}.`, 4);
    // ResNet: BN right after the stem conv; PreAct: BN at the start of each block instead
    const arch = has('bn1.weight') ? 'resnet18' : 'preact-resnet18';
    return { arch, depth: resnetDepth(c), width: dim('conv1.weight', 0), numClasses: dim('linear.weight', 0), inChannels: dim('conv1.weight', 1) };
  }
  const sample = keys.slice(0, 6).join(', ');
  throw new Error(
    `${where}: the key names (${sample}${keys.length > 6 ? ', …' : ''}) match none of the architectures read: ${PYTORCH_ARCHS.join(', ')} (ResNet-18, PreActResNet-18, WideResNet-ReLU, DeepMind WideResNet / PreActResNet with SiLU)`,
  );
}

export interface BuiltTorchModel {
  model: tf.LayersModel;
  graph: TorchGraph;
}

/**
 * The TF.js model of family `r.arch` with the state_dict's shapes (weights random until loaded,
 * by `onWeights` as each layer is built, or later):
 * input [32, 32, C] in [0, 1], the normalisation first when given, logits out.
 */
export function buildTorchModel(
  r: Recognised,
  shapes: Shapes,
  normalization: { mean: number[]; std: number[] } | null,
  where: string,
  onWeights?: OnWeights,
): BuiltTorchModel {
  const g = new TorchGraph(shapes, where, onWeights);
  try {
    return { model: buildGraph(g, r, shapes, normalization), graph: g };
  } catch (e) {
    // a missing key or a shape mismatch half-way: the layers built so far hold weights
    g.disposeLayers();
    throw e;
  }
}

function buildGraph(g: TorchGraph, r: Recognised, shapes: Shapes, normalization: { mean: number[]; std: number[] } | null): tf.LayersModel {
  const input = tf.input({ shape: [PYTORCH_IMAGE_SIZE, PYTORCH_IMAGE_SIZE, r.inChannels], name: 'image' });
  let x: tf.SymbolicTensor = normalization ? g.normalize(input, normalization) : input;
  const keys = [...shapes.keys()];
  const outOf = (key: string) => g.shape(key, 4)[0]!;
  let c = r.inChannels;
  switch (r.arch) {
    case 'resnet18': {
      x = g.act(g.bn(g.conv(x, 'conv1', 1, padAll(1), c), 'bn1', (c = outOf('conv1.weight'))), 'relu');
      const counts = blockCounts(keys, (s) => `layer${s + 1}.`, 4);
      counts.forEach((n, s) => {
        for (let b = 0; b < n; b++) {
          const p = `layer${s + 1}.${b}`;
          const stride = s > 0 && b === 0 ? 2 : 1;
          const out = outOf(`${p}.conv1.weight`);
          let y = g.act(g.bn(g.conv(x, `${p}.conv1`, stride, padAll(1), c), `${p}.bn1`, out), 'relu');
          y = g.bn(g.conv(y, `${p}.conv2`, 1, padAll(1), out), `${p}.bn2`, out);
          const sc = g.has(`${p}.shortcut.0.weight`) ? g.bn(g.conv(x, `${p}.shortcut.0`, stride, padAll(0), c), `${p}.shortcut.1`, out) : x;
          x = g.act(g.add(y, sc), 'relu');
          c = out;
        }
      });
      break;
    }
    case 'preact-resnet18': {
      x = g.conv(x, 'conv1', 1, padAll(1), c);
      c = outOf('conv1.weight');
      const counts = blockCounts(keys, (s) => `layer${s + 1}.`, 4);
      counts.forEach((n, s) => {
        for (let b = 0; b < n; b++) {
          const p = `layer${s + 1}.${b}`;
          const stride = s > 0 && b === 0 ? 2 : 1;
          const out = outOf(`${p}.conv1.weight`);
          const pre = g.act(g.bn(x, `${p}.bn1`, c), 'relu');
          const sc = g.has(`${p}.shortcut.0.weight`) ? g.conv(pre, `${p}.shortcut.0`, stride, padAll(0), c) : x;
          let y = g.conv(pre, `${p}.conv1`, stride, padAll(1), c);
          y = g.conv(g.act(g.bn(y, `${p}.bn2`, out), 'relu'), `${p}.conv2`, 1, padAll(1), out);
          x = g.add(y, sc);
          c = out;
        }
      });
      // Rice et al. / DM-Improves-AT add a final BN + ReLU; kuangliu's original has none
      if (g.has('bn.weight')) x = g.act(g.bn(x, 'bn', c), 'relu');
      break;
    }
    case 'wrn': {
      x = g.conv(x, 'conv1', 1, padAll(1), c);
      c = outOf('conv1.weight');
      for (let s = 0; s < 3; s++) {
        const n = blockCounts(keys, () => `block${s + 1}.layer.`, 1)[0]!;
        for (let b = 0; b < n; b++) {
          const p = `block${s + 1}.layer.${b}`;
          const stride = s > 0 && b === 0 ? 2 : 1;
          const out = outOf(`${p}.conv1.weight`);
          const equal = !g.has(`${p}.convShortcut.weight`);
          // in != out: the activated input feeds both the conv and the 1×1 shortcut
          const pre = g.act(g.bn(x, `${p}.bn1`, c), 'relu');
          let y = g.act(g.bn(g.conv(pre, `${p}.conv1`, stride, padAll(1), c), `${p}.bn2`, out), 'relu');
          y = g.conv(y, `${p}.conv2`, 1, padAll(1), out);
          x = g.add(equal ? x : g.conv(pre, `${p}.convShortcut`, stride, padAll(0), c), y);
          c = out;
        }
      }
      x = g.act(g.bn(x, 'bn1', c), 'relu');
      break;
    }
    case 'dm-wrn': {
      x = g.conv(x, 'init_conv', 1, padAll(1), c);
      c = outOf('init_conv.weight');
      for (let s = 0; s < 3; s++) {
        const n = blockCounts(keys, () => `layer.${s}.block.`, 1)[0]!;
        for (let b = 0; b < n; b++) {
          const p = `layer.${s}.block.${b}`;
          const stride = s > 0 && b === 0 ? 2 : 1;
          const out = outOf(`${p}.conv_0.weight`);
          const pre = g.act(g.bn(x, `${p}.batchnorm_0`, c), 'silu');
          let y = g.conv(pre, `${p}.conv_0`, stride, stride === 1 ? padAll(1) : PAD_SAME_STRIDE2, c);
          y = g.conv(g.act(g.bn(y, `${p}.batchnorm_1`, out), 'silu'), `${p}.conv_1`, 1, padAll(1), out);
          x = g.add(g.has(`${p}.shortcut.weight`) ? g.conv(pre, `${p}.shortcut`, stride, padAll(0), c) : x, y);
          c = out;
        }
      }
      x = g.act(g.bn(x, 'batchnorm', c), 'silu');
      break;
    }
    case 'dm-preact-resnet18': {
      x = g.conv(x, 'conv_2d', 1, padAll(1), c);
      c = outOf('conv_2d.weight');
      const counts = blockCounts(keys, (s) => `layer_${s}.`, 4);
      counts.forEach((n, s) => {
        for (let b = 0; b < n; b++) {
          const p = `layer_${s}.${b}`;
          const stride = s > 0 && b === 0 ? 2 : 1;
          const pad = stride === 1 ? padAll(1) : PAD_SAME_STRIDE2;
          const out = outOf(`${p}.conv_2d_1.weight`);
          const pre = g.act(g.bn(x, `${p}.batchnorm_0`, c), 'silu');
          // the 3×3 shortcut reads the raw (not activated) input, padded like the main branch
          const sc = g.has(`${p}.shortcut.weight`) ? g.conv(x, `${p}.shortcut`, stride, pad, c) : x;
          let y = g.conv(pre, `${p}.conv_2d_1`, stride, pad, c);
          y = g.conv(g.act(g.bn(y, `${p}.batchnorm_1`, out), 'silu'), `${p}.conv_2d_2`, 1, padAll(1), out);
          x = g.add(y, sc);
          c = out;
        }
      });
      x = g.act(g.bn(x, 'batchnorm', c), 'silu');
      break;
    }
  }
  const head = { resnet18: 'linear', 'preact-resnet18': 'linear', wrn: 'fc', 'dm-wrn': 'logits', 'dm-preact-resnet18': 'logits' }[r.arch];
  const { y } = g.dense(g.pool(x), head, c);
  return tf.model({ inputs: input, outputs: y, name: `pytorch_${r.arch.replace(/-/g, '_')}` });
}
