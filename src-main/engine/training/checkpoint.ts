/**
 * Checkpoints on disk. A model is stored in the TF.js Layers format (model.json + weights.bin,
 * loadable by tf.loadLayersModel through `fileModelHandler`); a checkpoint folder holds the live
 * model, the EMA model, the optimiser's momentum buffers, extra per-sample arrays and state.json
 * (epoch, batch position, global step, seeds). Folders are written under a temporary name and
 * renamed, and `latest.json` is replaced atomically, so a crash never leaves a half checkpoint.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

const FILE = 'src-main/engine/training/checkpoint.ts';

/** A tf.io handler reading/writing model.json + weights.bin in `dir`. */
export function fileModelHandler(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      fs.mkdirSync(dir, { recursive: true });
      const data = artifacts.weightData;
      const bytes = data == null ? new Uint8Array(0) : new Uint8Array(Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data);
      fs.writeFileSync(path.join(dir, 'weights.bin'), bytes);
      const json = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      };
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: bytes.byteLength } };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const file = path.join(dir, 'model.json');
      if (!fs.existsSync(file)) throw new Error(`${FILE}: ${file} does not exist`);
      let json: { modelTopology: object; weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }> };
      try {
        json = JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch (e) {
        throw new Error(`${FILE}: ${file} is not valid JSON (${(e as Error).message})`, { cause: e });
      }
      if (!json.modelTopology || !Array.isArray(json.weightsManifest))
        throw new Error(`${FILE}: ${file} is not a TF.js Layers model (no modelTopology / weightsManifest)`);
      const specs = json.weightsManifest.flatMap((g) => g.weights);
      const buffers = json.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p))));
      const all = Buffer.concat(buffers);
      const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
      return { modelTopology: json.modelTopology, weightSpecs: specs, weightData, format: 'layers-model' };
    },
  };
}

export async function saveModel(model: tf.LayersModel, dir: string): Promise<void> {
  await model.save(fileModelHandler(dir));
}

export async function loadModel(dir: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(fileModelHandler(dir));
}

/** Copies all weights (trainable and batch-norm statistics) from a saved model into `model`. */
export async function loadWeightsInto(model: tf.LayersModel, dir: string): Promise<void> {
  const loaded = await loadModel(dir);
  try {
    const src = loaded.getWeights();
    if (src.length !== model.weights.length) throw new Error(`${FILE}: ${dir} has ${src.length} weight tensors, the model ${model.weights.length}`);
    model.setWeights(src);
  } finally {
    loaded.dispose();
  }
}

export interface CheckpointState {
  /** Epoch being trained (0-based) and batches of it already done; batch 0 = epoch start. */
  epoch: number;
  batchInEpoch: number;
  globalStep: number;
  seed: number;
  /** Anything else the trainer needs (metrics so far, timings). */
  extra: Record<string, unknown>;
}

export interface CheckpointArrays {
  [name: string]: Float32Array;
}

export interface Checkpoint {
  dir: string;
  state: CheckpointState;
  arrays: CheckpointArrays;
}

function writeArrays(dir: string, arrays: CheckpointArrays): void {
  const index: Array<{ name: string; length: number }> = [];
  const parts: Buffer[] = [];
  for (const [name, a] of Object.entries(arrays)) {
    index.push({ name, length: a.length });
    parts.push(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
  }
  fs.writeFileSync(path.join(dir, 'arrays.bin'), Buffer.concat(parts));
  fs.writeFileSync(path.join(dir, 'arrays.json'), JSON.stringify(index));
}

function readArrays(dir: string): CheckpointArrays {
  const indexFile = path.join(dir, 'arrays.json');
  if (!fs.existsSync(indexFile)) return {};
  const index = JSON.parse(fs.readFileSync(indexFile, 'utf8')) as Array<{ name: string; length: number }>;
  const bytes = fs.readFileSync(path.join(dir, 'arrays.bin'));
  const total = index.reduce((s, e) => s + e.length, 0);
  if (bytes.byteLength !== total * 4) throw new Error(`${FILE}: ${dir}/arrays.bin has ${bytes.byteLength} bytes, arrays.json describes ${total * 4}`);
  const out: CheckpointArrays = {};
  let offset = 0;
  for (const e of index) {
    const copy = new Float32Array(e.length);
    copy.set(new Float32Array(bytes.buffer.slice(bytes.byteOffset + offset * 4, bytes.byteOffset + (offset + e.length) * 4)));
    out[e.name] = copy;
    offset += e.length;
  }
  return out;
}

/**
 * Writes `<root>/<name>/` (live/, ema/, arrays, state.json) and points latest.json at it; keeps
 * the newest `keep` checkpoint folders. Returns the folder.
 */
export async function writeCheckpoint(
  root: string,
  name: string,
  models: { live: tf.LayersModel; ema: tf.LayersModel },
  state: CheckpointState,
  arrays: CheckpointArrays,
  keep = 3,
): Promise<string> {
  fs.mkdirSync(root, { recursive: true });
  const final = path.join(root, name);
  const tmp = path.join(root, `.${name}.tmp-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  await saveModel(models.live, path.join(tmp, 'live'));
  await saveModel(models.ema, path.join(tmp, 'ema'));
  writeArrays(tmp, arrays);
  fs.writeFileSync(path.join(tmp, 'state.json'), JSON.stringify(state));
  fs.rmSync(final, { recursive: true, force: true });
  fs.renameSync(tmp, final);
  const latestTmp = path.join(root, `.latest.json.tmp-${process.pid}`);
  fs.writeFileSync(latestTmp, JSON.stringify({ name, epoch: state.epoch, batchInEpoch: state.batchInEpoch, globalStep: state.globalStep }));
  fs.renameSync(latestTmp, path.join(root, 'latest.json'));
  // Older checkpoints beyond `keep` go (the final model is saved elsewhere).
  const folders = fs
    .readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && /^step-\d+$/.test(e.name))
    .map((e) => e.name)
    .sort();
  for (const old of folders.slice(0, Math.max(0, folders.length - keep))) {
    if (old !== name) fs.rmSync(path.join(root, old), { recursive: true, force: true });
  }
  return final;
}

/** The checkpoint latest.json points at, or null when there is none. */
export function readLatestCheckpoint(root: string): Checkpoint | null {
  const latest = path.join(root, 'latest.json');
  if (!fs.existsSync(latest)) return null;
  const { name } = JSON.parse(fs.readFileSync(latest, 'utf8')) as { name: string };
  const dir = path.join(root, name);
  const stateFile = path.join(dir, 'state.json');
  if (!fs.existsSync(stateFile)) throw new Error(`${FILE}: ${latest} points at ${dir}, which has no state.json`);
  const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as CheckpointState;
  return { dir, state, arrays: readArrays(dir) };
}

/** Where the checkpoint latest.json points at stands (read without loading it), or null when there is none. */
export function readLatestCheckpointPosition(root: string): { globalStep: number; epoch: number; batchInEpoch: number } | null {
  const latest = path.join(root, 'latest.json');
  if (!fs.existsSync(latest)) return null;
  const p = JSON.parse(fs.readFileSync(latest, 'utf8')) as { globalStep?: unknown; epoch?: unknown; batchInEpoch?: unknown };
  if (![p.globalStep, p.epoch, p.batchInEpoch].every((x) => Number.isInteger(x) && (x as number) >= 0)) {
    throw new Error(`${FILE}: ${latest} does not give the checkpoint's step and epoch`);
  }
  return { globalStep: p.globalStep as number, epoch: p.epoch as number, batchInEpoch: p.batchInEpoch as number };
}

export function checkpointName(globalStep: number): string {
  return `step-${String(globalStep).padStart(9, '0')}`;
}
