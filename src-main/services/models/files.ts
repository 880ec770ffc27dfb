/**
 * TF.js Layers models on disk without tfjs-node: `model.json` (topology + weights manifest) and
 * its weight files, read and written through in-memory IOHandlers.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { checkDimension, formatBytes, LIMITS, readJsonFile } from '../limits';
import { resolveInside } from '../path-policy';

const FILE = 'src-main/services/models/files.ts';
export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

export interface LayersArtifacts {
  modelTopology: Record<string, unknown>;
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightData: ArrayBuffer;
}

function fail(where: string, why: string): never {
  throw new Error(`${FILE}: ${where}: ${why}`);
}

/** `model.json` itself, or the folder holding it. */
export function resolveModelJson(p: string): string {
  const abs = path.resolve(p);
  if (!fs.existsSync(abs)) fail(abs, 'no such file or folder');
  // a folder's model.json must not be a link out of the folder that was chosen
  const file = fs.statSync(abs).isDirectory() ? resolveInside(abs, MODEL_JSON, abs, 'the chosen folder') : abs;
  if (!fs.existsSync(file)) fail(abs, `no ${MODEL_JSON} in this folder`);
  return file;
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

/** Each weight's shape and dtype are possible, and their total size is within the limit. */
function checkWeightSpecs(file: string, specs: unknown[]): tf.io.WeightsManifestEntry[] {
  let total = 0;
  for (const w of specs as Partial<tf.io.WeightsManifestEntry>[]) {
    if (!w || typeof w !== 'object' || typeof w.name !== 'string' || !Array.isArray(w.shape)) fail(file, 'a weightsManifest entry lacks its name or shape');
    const bytes = DTYPE_BYTES[String(w.dtype)];
    if (!bytes) fail(file, `weight '${w.name}' has dtype ${String(w.dtype)}; float32, int32 or bool expected`);
    const count = w.shape.reduce((a: number, d: unknown, i: number) => a * checkDimension(d, file, `dimension ${i} of weight '${w.name}'`), 1);
    total += count * bytes;
    if (total > LIMITS.maxModelWeightBytes) fail(file, `the manifest describes more than ${formatBytes(LIMITS.maxModelWeightBytes)} of weights`);
  }
  return specs as tf.io.WeightsManifestEntry[];
}

/** Refuses NaN/±Inf weights (they make every margin and gradient NaN); names the weight. */
function checkFiniteWeights(file: string, specs: tf.io.WeightsManifestEntry[], data: Uint8Array): void {
  if (specs.some((w) => w.quantization)) return;
  let offset = 0;
  for (const w of specs) {
    const count = w.shape.reduce((a, d) => a * d, 1);
    const bytes = count * DTYPE_BYTES[w.dtype]!;
    if (w.dtype === 'float32') {
      const view = new DataView(data.buffer, data.byteOffset + offset, bytes);
      for (let i = 0; i < count; i++) {
        const v = view.getFloat32(4 * i, true);
        if (!Number.isFinite(v)) fail(file, `weight '${w.name}' holds ${v} at index ${i}: a model's weights must be finite numbers`);
      }
    }
    offset += bytes;
  }
}

/**
 * Reads a model.json and every weight file its manifest names (paths relative to it), within the
 * JSON and weight size limits; weight files are sized before they are read, weights must be finite.
 */
export function readLayersArtifacts(modelJsonPath: string): LayersArtifacts {
  const file = resolveModelJson(modelJsonPath);
  let json: { modelTopology?: unknown; weightsManifest?: unknown; format?: string };
  try {
    // size and nesting limited; the message names the place, never the text (no file echoed back)
    json = readJsonFile(file) as typeof json;
  } catch (e) {
    throw new Error(`${FILE}: ${(e as Error).message}: not a TF.js Layers model.json`, { cause: e });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail(file, 'not a TF.js Layers model.json (a JSON object is expected)');
  if (json.format !== undefined && json.format !== 'layers-model') {
    fail(file, `format is '${String(json.format).slice(0, 40)}', only TF.js Layers models ('layers-model') are supported`);
  }
  if (!json.modelTopology || typeof json.modelTopology !== 'object') fail(file, 'has no modelTopology: not a TF.js Layers model.json');
  const manifest = (json.weightsManifest ?? []) as tf.io.WeightsManifestConfig;
  if (!Array.isArray(manifest)) fail(file, 'weightsManifest must be an array');
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const weightFiles: { rel: unknown; path: string; size: number }[] = [];
  for (const group of manifest) {
    if (!group || !Array.isArray(group.paths) || !Array.isArray(group.weights)) fail(file, 'a weightsManifest group lacks paths or weights');
    weightSpecs.push(...checkWeightSpecs(file, group.weights));
    for (const rel of group.paths) {
      // weight files live next to model.json: '../x', absolute paths and links out are refused
      let weightFile: string;
      try {
        weightFile = resolveInside(path.dirname(file), String(rel), file);
      } catch (e) {
        throw new Error(`${FILE}: ${(e as Error).message} (a weightsManifest path)`, { cause: e });
      }
      if (!fs.existsSync(weightFile)) fail(file, `weight file '${rel}' named in its manifest is missing`);
      weightFiles.push({ rel, path: weightFile, size: fs.statSync(weightFile).size });
    }
  }
  const total = weightFiles.reduce((s, f) => s + f.size, 0);
  if (total > LIMITS.maxModelWeightBytes) fail(file, `weight files of ${formatBytes(total)}, past the limit of ${formatBytes(LIMITS.maxModelWeightBytes)}`);
  const expected = weightSpecs.reduce((s, w) => s + w.shape.reduce((a, v) => a * v, 1) * DTYPE_BYTES[w.dtype]!, 0);
  // sized before reading: a manifest naming a huge file is refused without loading it
  if (!weightSpecs.some((w) => w.quantization) && expected !== total) {
    fail(file, `weight files hold ${total} bytes, the manifest describes ${expected}`);
  }
  const weightData = new Uint8Array(total);
  let at = 0;
  for (const f of weightFiles) {
    const b = fs.readFileSync(f.path);
    if (at + b.byteLength > total) fail(file, `weight file '${String(f.rel)}' grew while it was read`);
    weightData.set(b, at);
    at += b.byteLength;
  }
  checkFiniteWeights(file, weightSpecs, weightData);
  return { modelTopology: json.modelTopology as Record<string, unknown>, weightSpecs, weightData: weightData.buffer };
}

/** Writes model.json + weights.bin into `dir` (created); returns the model.json path. */
export function writeLayersArtifacts(dir: string, artifacts: LayersArtifacts): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, WEIGHTS_BIN), new Uint8Array(artifacts.weightData));
  const json = {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
    convertedBy: 'PUMA Lab',
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs }],
  };
  const file = path.join(dir, MODEL_JSON);
  fs.writeFileSync(file, JSON.stringify(json));
  return file;
}

/** `model.save` target for Node without tfjs-node: writes model.json + weights.bin into `dir`. */
export function fileSaveHandler(dir: string): tf.io.IOHandler {
  return {
    save: async (a: tf.io.ModelArtifacts) => {
      const weightData = a.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(a.weightData);
      writeLayersArtifacts(dir, { modelTopology: a.modelTopology as Record<string, unknown>, weightSpecs: a.weightSpecs ?? [], weightData });
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
    },
  };
}

export async function loadLayersArtifacts(a: LayersArtifacts): Promise<tf.LayersModel> {
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: a.modelTopology, weightSpecs: a.weightSpecs, weightData: a.weightData }));
}

/** Loads a stored model (folder or model.json). */
export async function loadModelFromDir(dirOrJson: string): Promise<tf.LayersModel> {
  return loadLayersArtifacts(readLayersArtifacts(dirOrJson));
}

export function hashArtifacts(a: LayersArtifacts): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(a.modelTopology));
  h.update(JSON.stringify(a.weightSpecs));
  h.update(new Uint8Array(a.weightData));
  return h.digest('hex');
}

interface LayerJson {
  class_name: string;
  config: { name?: string; activation?: string; [k: string]: unknown };
  inbound_nodes?: unknown;
  name?: string;
}

/**
 * Models output logits: neutralises a softmax on the output layer (a Dense/Conv activation, an
 * Activation('softmax') or a Softmax layer becomes linear) in the topology JSON, before loading.
 * Returns whether one was found.
 */
export function dropFinalSoftmax(topology: Record<string, unknown>): boolean {
  const root = (topology.model_config ?? topology) as { class_name?: string; config?: unknown };
  const config = root.config as { layers?: LayerJson[]; output_layers?: unknown[] } | LayerJson[] | undefined;
  const layers: LayerJson[] | undefined = Array.isArray(config) ? config : config?.layers;
  if (!Array.isArray(layers) || layers.length === 0) return false;
  let outputNames: string[];
  const outputs = Array.isArray(config) ? undefined : config?.output_layers;
  if (root.class_name !== 'Sequential' && Array.isArray(outputs) && outputs.length > 0) {
    // output_layers is [[name, node, tensor], ...] or, for a single output, [name, node, tensor].
    outputNames = Array.isArray(outputs[0]) ? (outputs as unknown[][]).map((o) => String(o[0])) : [String(outputs[0])];
  } else {
    const last = layers[layers.length - 1]!;
    outputNames = [String(last.config.name ?? last.name)];
  }
  let dropped = false;
  for (const layer of layers) {
    const name = String(layer.config.name ?? layer.name);
    if (!outputNames.includes(name)) continue;
    if (layer.class_name === 'Softmax') {
      layer.class_name = 'Activation';
      layer.config = { name, trainable: layer.config.trainable ?? true, dtype: layer.config.dtype ?? 'float32', activation: 'linear' };
      dropped = true;
    } else if (layer.config.activation === 'softmax') {
      layer.config.activation = 'linear';
      dropped = true;
    }
  }
  return dropped;
}
