/**
 * A PyTorch checkpoint (.pt/.pth/.safetensors) → TF.js Layers artifacts computing the same logits:
 * read (checkpoint.ts), recognise the family (or check the one asked for), build the model with
 * PyTorch's semantics (engine/models/pytorch) and lay the weights out in TF.js order. Nothing is
 * written here: the caller stores the artifacts like any imported model.
 */
import * as tf from '@tensorflow/tfjs';
import {
  buildTorchModel,
  FAMILY_DEFAULT_NORMALIZATION,
  NORMALIZATIONS,
  PYTORCH_ARCHS,
  recognise,
  type PytorchArch,
  type Recognised,
} from '../../../engine/models/pytorch/families';
import { weightsFor, type OnWeights } from '../../../engine/models/pytorch/layers';
import type { LayersArtifacts } from '../files';
import { readCheckpoint, type Checkpoint } from './checkpoint';

export { isPytorchFile } from '../../../../src-shared/domain/models';

/** Keys public classes keep in their state_dict without using them (TRADES' WRN: sub_block1). */
const UNUSED_KEYS = /^sub_block\d+\./;

export interface Normalization {
  mean: number[];
  std: number[];
}

/** `none`, `cifar10`, `cifar100` or `M1,M2,M3/S1,S2,S3`; undefined when not given. */
export function parseNormalize(text: string | undefined, field = '--normalize'): Normalization | null | undefined {
  if (text === undefined) return undefined;
  const t = text.trim().toLowerCase();
  if (t === 'none') return null;
  if (t in NORMALIZATIONS) {
    const n = NORMALIZATIONS[t as keyof typeof NORMALIZATIONS];
    return { mean: [...n.mean], std: [...n.std] };
  }
  const m = /^([^/]+)\/([^/]+)$/.exec(t);
  const nums = (s: string) => s.split(',').map((v) => Number(v.trim()));
  if (m) {
    const mean = nums(m[1]!);
    const std = nums(m[2]!);
    if (mean.length === std.length && mean.every(Number.isFinite) && std.every((s) => Number.isFinite(s) && s > 0)) return { mean, std };
  }
  throw new Error(`${field}: '${text.slice(0, 80)}' is not none, cifar10, cifar100 or MEAN/STD lists like 0.4914,0.4822,0.4465/0.2471,0.2435,0.2616 (std > 0)`);
}

export interface PytorchImport {
  artifacts: LayersArtifacts;
  /** TF.js layer name → PyTorch module prefix, in the order the layers were built. */
  layers: Record<string, string>;
  /** The model holding these weights (the caller disposes it). */
  model: tf.LayersModel;
  recognised: Recognised;
  normalization: Normalization | null;
  notes: string[];
}

export async function importPytorch(file: string, opts: { arch?: string; normalize?: string } = {}): Promise<PytorchImport> {
  const arch = opts.arch ?? 'auto';
  if (arch !== 'auto' && !(PYTORCH_ARCHS as readonly string[]).includes(arch)) {
    throw new Error(`--arch: '${arch.slice(0, 40)}' is not auto or one of ${PYTORCH_ARCHS.join(', ')}`);
  }
  const given = parseNormalize(opts.normalize);
  const ckpt = readCheckpoint(file);
  try {
    return build(file, arch, given, ckpt);
  } finally {
    ckpt.close();
  }
}

function build(file: string, arch: string, given: Normalization | null | undefined, ckpt: Checkpoint): PytorchImport {
  const shapes = ckpt.shapes;
  const r = recognise(shapes, file);
  if (arch !== 'auto' && arch !== r.arch) {
    throw new Error(
      `${file}: --arch ${arch} asked for, but the key names are those of ${r.arch} (depth ${r.depth}, width ${r.width}); use --arch auto or ${r.arch}`,
    );
  }
  const notes = [...ckpt.notes, `${arch === 'auto' ? 'recognised as' : 'read as'} ${r.arch}, depth ${r.depth}, width ${r.width}, ${r.numClasses} classes`];
  let normalization: Normalization | null;
  if (given !== undefined) {
    normalization = given;
    if (ckpt.normalization && given) notes.push('normalisation given by the user replaces the one in the file');
  } else if (ckpt.normalization) {
    normalization = ckpt.normalization;
  } else {
    const preset = FAMILY_DEFAULT_NORMALIZATION[r.arch as PytorchArch];
    normalization = preset ? { mean: [...NORMALIZATIONS[preset].mean], std: [...NORMALIZATIONS[preset].std] } : null;
    if (preset) notes.push(`normalisation: ${preset} (the default of ${r.arch}'s public class)`);
  }
  if (normalization && (normalization.mean.length !== r.inChannels || normalization.std.length !== r.inChannels)) {
    throw new Error(
      `${file}: the normalisation has ${normalization.mean.length} means and ${normalization.std.length} stds, the model takes ${r.inChannels} channels`,
    );
  }
  if (normalization && normalization.std.some((s) => !(s > 0)))
    throw new Error(`${file}: a normalisation std must be > 0, got [${normalization.std.join(', ')}]`);
  if (!(r.numClasses >= 2)) throw new Error(`${file}: the final layer gives ${r.numClasses} outputs; a classifier needs at least 2`);

  // Memory: each layer takes its weights as soon as it is built (its random initial values freed
  // at once), as views of one buffer in TF.js layout that is also what gets stored: the weights are
  // held about once, plus one checkpoint tensor at a time.
  const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
  const total = [...shapes].reduce((s, [k, shape]) => (UNUSED_KEYS.test(k) ? s : s + count(shape)), 0);
  const weightData = new Float32Array(total);
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  let at = 0;
  const load: OnWeights = (layer, kind, prefix) => {
    const arrays = weightsFor(kind, prefix, (k) => ckpt.read(k));
    if (arrays.length !== layer.weights.length)
      throw new Error(`pytorch/import.ts: '${prefix}' gives ${arrays.length} weights, its layer has ${layer.weights.length}`);
    const views = layer.weights.map((w, i) => {
      const shape = w.shape as number[];
      const a = arrays[i]!;
      if (a.length !== count(shape))
        throw new Error(`${file}: '${prefix}' gives ${a.length} values for a weight of shape [${shape.join(', ')}] (shape mismatch)`);
      if (at + a.length > total) throw new Error(`${file}: '${prefix}' is used twice by ${r.arch}`);
      weightData.set(a, at);
      weightSpecs.push({ name: w.originalName, shape, dtype: 'float32' });
      at += a.length;
      return tf.tensor(weightData.subarray(at - a.length, at), shape, 'float32');
    });
    layer.setWeights(views);
    tf.dispose(views);
  };
  let built: ReturnType<typeof buildTorchModel> | undefined;
  try {
    built = buildTorchModel(r, shapes, normalization, file, load);
    const { model, graph } = built;
    const unknown = [...shapes.keys()].filter((k) => !graph.used.has(k) && !UNUSED_KEYS.test(k));
    if (unknown.length) {
      throw new Error(
        `${file}: ${unknown.length} key${unknown.length > 1 ? 's' : ''} of the state_dict that ${r.arch} does not have (unknown keys): ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''}`,
      );
    }
    if (at !== total) throw new Error(`pytorch/import.ts: ${at} of ${total} weights laid out`);
    const modelTopology = model.toJSON(null, false) as unknown as Record<string, unknown>;
    const layers = Object.fromEntries([...graph.sources].map(([name, src]) => [name, src.prefix]));
    return { artifacts: { modelTopology, weightSpecs, weightData: weightData.buffer }, layers, model, recognised: r, normalization, notes };
  } catch (e) {
    built?.model.dispose();
    throw e;
  }
}
