import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { NotFound } from '../../../src-shared/api/errors';
import { ImportModelRequest, type ImportModelRequestInput, type ModelAccuracy, type ModelInfo } from '../../../src-shared/domain/models';
import { PYTORCH_IMAGE_SIZE } from '../../engine/models/pytorch/families';
import { pgdAttack } from '../../engine/attacks';
import type { Db } from '../../store/db';
import { ModelsRepo } from '../../store/repos/models';
import { DatasetService } from '../datasets';
import { exportPytorch, pytorchSide, type ExportFormat, type ExportResult } from './pytorch/export';
import { importPytorch, isPytorchFile } from './pytorch/import';
import {
  dropFinalSoftmax,
  hashArtifacts,
  loadLayersArtifacts,
  loadModelFromDir,
  readLayersArtifacts,
  resolveModelJson,
  writeLayersArtifacts,
  type LayersArtifacts,
} from './files';

const FILE = 'src-main/services/models/service.ts';

/** The parts of a run (RunsRepo.get) that registering its final model needs. */
export interface TrainRunForModel {
  id: number;
  kind: string;
  status: string;
  config: unknown;
  result: unknown;
}
/** What registering a run's final model reads of its result. */
type TrainRunResult = { final_model?: string | null; metrics?: { clean_acc?: number; robust_acc_pgd?: number } | null };
const EVAL_BATCH = 256;

/**
 * Called after each evaluated batch (a models job reports progress with it): it may yield so a
 * cancel request can arrive, and throw to stop the evaluation.
 */
export type EvalProgress = (done: number, total: number) => Promise<void>;

/** uint8 HWC images → float32 [0, 1] tensor, one batch at a time. */
export function imagesToTensor(bytes: Uint8Array, n: number, shape: readonly [number, number, number]): tf.Tensor4D {
  const x = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) x[i] = bytes[i]! / 255;
  return tf.tensor4d(x, [n, shape[0], shape[1], shape[2]]);
}

/** Input [h, w, c] and class count of a loaded model; throws when it is not an image classifier. */
export function describeModel(model: tf.LayersModel, where: string): { inputShape: [number, number, number]; numClasses: number } {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new Error(`${where}: the model must have one input and one output, has ${model.inputs.length} and ${model.outputs.length}`);
  }
  const input = model.inputs[0]!.shape;
  const output = model.outputs[0]!.shape;
  if (input.length !== 4 || input.slice(1).some((v) => v == null)) {
    throw new Error(`${where}: the model input must be [batch, height, width, channels], got [${input.join(', ')}]`);
  }
  if (output.length !== 2 || output[1] == null || output[1] < 2) {
    throw new Error(`${where}: the model output must be [batch, classes ≥ 2] logits, got [${output.join(', ')}]`);
  }
  return { inputShape: [input[1]!, input[2]!, input[3]!], numClasses: output[1] };
}

/** What the log records of a model's files (storeModelFiles). */
export interface StoredModelFiles {
  inputShape: [number, number, number];
  numClasses: number;
  hash: string;
  storageDir: string;
  params: number;
}

/**
 * Checks that the artifacts build an image classifier and keeps them in the content-hashed folder
 * `<root>/<hash>/` (written to a temp folder, then renamed into place). Writes no log row, so a
 * job process can call it and leave the row to the main process. The caller disposes `model`.
 */
export async function storeModelFiles(
  root: string,
  artifacts: LayersArtifacts,
  where: string,
  prebuilt?: tf.LayersModel,
  /** Runs on the built model before any file is written (an import's evaluation: a cancel or a failure there leaves nothing). */
  beforeWrite?: (model: tf.LayersModel) => Promise<void>,
): Promise<{ model: tf.LayersModel; files: StoredModelFiles }> {
  let model: tf.LayersModel;
  try {
    // `prebuilt`: the model these artifacts came from (a PyTorch import), not loaded a second time
    model = prebuilt ?? (await loadLayersArtifacts(artifacts));
  } catch (e) {
    throw new Error(`${where}: TF.js could not build the model: ${(e as Error).message}`, { cause: e });
  }
  try {
    const { inputShape, numClasses } = describeModel(model, where);
    await beforeWrite?.(model);
    const hash = hashArtifacts(artifacts);
    const dir = path.join(root, hash.slice(0, 32));
    if (!fs.existsSync(path.join(dir, 'model.json'))) {
      const tmp = `${dir}.tmp-${process.pid}`;
      writeLayersArtifacts(tmp, artifacts);
      fs.rmSync(dir, { recursive: true, force: true });
      fs.renameSync(tmp, dir);
    }
    return { model, files: { inputShape, numClasses, hash, storageDir: dir, params: model.countParams() } };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/**
 * Margin models: imported TF.js Layers models (or models trained in the app), normalised to output
 * logits and kept in content-hashed folders under `<dataDir>/models/<hash>/`.
 */
export class ModelService {
  readonly repo: ModelsRepo;
  readonly root: string;
  private readonly datasets: DatasetService;

  constructor(db: Db, dataDir: string, datasets?: DatasetService) {
    this.repo = new ModelsRepo(db);
    this.root = path.join(dataDir, 'models');
    this.datasets = datasets ?? new DatasetService(db, dataDir);
  }

  list(): ModelInfo[] {
    return this.repo.list();
  }

  /** By id, or by name (digits are tried as an id first). */
  get(idOrName: number | string): ModelInfo {
    const found =
      typeof idOrName === 'number'
        ? this.repo.get(idOrName)
        : ((/^\d+$/.test(idOrName) ? this.repo.get(Number(idOrName)) : undefined) ?? this.repo.getByName(idOrName));
    if (!found) throw new NotFound(`No margin model ${typeof idOrName === 'number' ? `with id ${idOrName}` : `named "${idOrName}"`}`);
    return found;
  }

  async load(idOrName: number | string): Promise<tf.LayersModel> {
    return loadModelFromDir(this.get(idOrName).storageDir);
  }

  /**
   * The checks an import makes before TF.js builds anything (file reads only, nothing written):
   * the request, the file, the name, the evaluation dataset, and for a TF.js model its model.json
   * and weights. The app runs them before it queues the import job, so a refused file is refused
   * at once; the import runs them again.
   */
  checkImport(input: ImportModelRequestInput): { req: ImportModelRequest; file: string; artifacts: LayersArtifacts | null } {
    const parsed = ImportModelRequest.safeParse(input);
    if (!parsed.success) {
      throw new Error(`Invalid model import request: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ')}`);
    }
    const req = parsed.data;
    const clashError = () => {
      const clash = this.repo.getByName(req.name);
      if (clash) throw new Error(`A margin model named "${req.name}" already exists (id ${clash.id}); choose another name`);
    };
    if (isPytorchFile(req.path)) {
      const file = path.resolve(req.path);
      if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new Error(`${FILE}: ${file}: no such file`);
      clashError();
      if (req.evaluateOn !== undefined) this.datasets.get(req.evaluateOn);
      return { req, file, artifacts: null };
    }
    if ((req.arch !== undefined && req.arch !== 'auto') || req.normalize !== undefined) {
      throw new Error(`${req.path}: --arch and --normalize apply to PyTorch checkpoints (.pt, .pth, .safetensors); a TF.js model carries its own layers`);
    }
    const file = resolveModelJson(req.path);
    clashError();
    const artifacts = readLayersArtifacts(file);
    if (req.evaluateOn !== undefined) this.datasets.get(req.evaluateOn);
    return { req, file, artifacts };
  }

  async importModel(input: ImportModelRequestInput, onProgress?: EvalProgress): Promise<ModelInfo> {
    const { req, file, artifacts } = this.checkImport(input);
    if (!artifacts) return this.importPytorchModel(req, file, onProgress);
    const droppedSoftmax = dropFinalSoftmax(artifacts.modelTopology);
    return this.store(artifacts, {
      name: req.name,
      source: 'imported',
      provenance: { importedFrom: file },
      droppedSoftmax,
      where: file,
      evaluate: req.evaluateOn === undefined ? undefined : { dataset: req.evaluateOn, count: req.evaluateCount, robustEps: req.robustEps, onProgress },
    });
  }

  /**
   * A PyTorch checkpoint rebuilt as a TF.js model with PyTorch's semantics (services/models/pytorch).
   * Everything is checked before anything is written: the file (checkImport), the evaluation dataset's image
   * size and class count, then the model files and the row.
   */
  private async importPytorchModel(req: ImportModelRequest, file: string, onProgress?: EvalProgress): Promise<ModelInfo> {
    const dataset = req.evaluateOn === undefined ? undefined : this.datasets.get(req.evaluateOn);
    const imp = await importPytorch(file, { arch: req.arch, normalize: req.normalize });
    const r = imp.recognised;
    if (dataset) {
      const want = [PYTORCH_IMAGE_SIZE, PYTORCH_IMAGE_SIZE, r.inChannels];
      let problem: string | undefined;
      if (dataset.shape.some((v, i) => v !== want[i])) {
        problem = `${r.arch} takes ${want.join('×')} images (its public class pools a fixed final map), dataset "${dataset.name}" has ${dataset.shape.join('×')}`;
      } else if (dataset.classes.length !== r.numClasses) {
        problem = `the model has ${r.numClasses} classes, dataset "${dataset.name}" has ${dataset.classes.length}: evaluate it on a dataset with the classes it was trained on`;
      }
      if (problem) {
        imp.model.dispose();
        throw new Error(`${file}: ${problem}`);
      }
    }
    return this.store(imp.artifacts, {
      name: req.name,
      source: 'imported',
      provenance: {
        importedFrom: file,
        architecture: r.arch,
        note: `PyTorch checkpoint: ${imp.notes.join('; ')}`,
        pytorch: { depth: r.depth, width: r.width, normalization: imp.normalization, layers: imp.layers },
      },
      droppedSoftmax: false,
      where: file,
      evaluate: dataset === undefined ? undefined : { dataset: dataset.id, count: req.evaluateCount, robustEps: req.robustEps, onProgress },
      prebuilt: imp.model,
    });
  }

  /** Writes a PyTorch-imported model back as a PyTorch state_dict (`.pt` or `.safetensors`) plus `<out>.json`. */
  async exportModel(idOrName: number | string, format: ExportFormat, out: string): Promise<ExportResult> {
    const info = this.get(idOrName);
    pytorchSide(info); // refuses a model that has no PyTorch twin, before loading it
    const model = await loadModelFromDir(info.storageDir);
    try {
      const datasetId = info.accuracy?.datasetId ?? info.provenance.datasetId;
      let dataset: string | null = null;
      try {
        if (datasetId !== undefined) dataset = this.datasets.get(datasetId).name;
      } catch {
        /* dataset removed since */
      }
      return exportPytorch(info, model, format, out, { dataset });
    } finally {
      model.dispose();
    }
  }

  /** Records a model trained in the app (the training service hands over its LayersModel). */
  async addTrained(model: tf.LayersModel, opts: { name: string; runId?: number; architecture?: string; accuracy?: ModelAccuracy }): Promise<ModelInfo> {
    let artifacts: LayersArtifacts | undefined;
    await model.save({
      save: async (a: tf.io.ModelArtifacts) => {
        artifacts = {
          modelTopology: a.modelTopology as Record<string, unknown>,
          weightSpecs: a.weightSpecs ?? [],
          weightData: a.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(a.weightData),
        };
        return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
      },
    });
    const droppedSoftmax = dropFinalSoftmax(artifacts!.modelTopology);
    const info = await this.store(artifacts!, {
      name: opts.name,
      source: 'trained',
      provenance: { runId: opts.runId, architecture: opts.architecture },
      droppedSoftmax,
      where: `trained model "${opts.name}"`,
    });
    if (opts.accuracy) this.repo.setAccuracy(info.id, opts.accuracy);
    return this.get(info.id);
  }

  /** The final model of train run `runId` registered as a margin model, if any (not one it trained for its margins). */
  findByRun(runId: number): ModelInfo | undefined {
    return this.list().find((m) => m.source === 'trained' && m.provenance.runId === runId && m.provenance.role !== 'margin_model');
  }

  /**
   * Registers the final EMA model of a finished train run (saved by the train job under
   * <dataDir>/runs/<id>/final/) as a margin model, with the run's clean/robust test accuracy.
   * Idempotent: a run already registered returns its model.
   */
  /** Why a run has no final model to register (throws), else its result and final model.json (nothing loaded). */
  checkTrainRun(run: TrainRunForModel): { result: TrainRunResult; file: string } {
    const where = `train run ${run.id}`;
    if (run.kind !== 'train') throw new Error(`${FILE}: run ${run.id} is a ${run.kind} run, not a train run`);
    if (run.status !== 'finished') throw new Error(`${FILE}: ${where} is ${run.status}; only a finished run has a final model`);
    const result = (run.result ?? {}) as TrainRunResult;
    if (!result.final_model) throw new Error(`${FILE}: ${where} recorded no final model`);
    return { result, file: resolveModelJson(result.final_model) };
  }

  async addTrainRun(run: TrainRunForModel, name?: string): Promise<ModelInfo> {
    const existing = this.findByRun(run.id);
    if (existing) return existing;
    const where = `train run ${run.id}`;
    const { result, file } = this.checkTrainRun(run);
    const artifacts = readLayersArtifacts(file);
    const droppedSoftmax = dropFinalSoftmax(artifacts.modelTopology);
    const config = (run.config ?? {}) as { arch?: string; dataset?: string | number; eps?: number; eval_subset?: number | null };
    let modelName = name ?? `${config.arch ?? 'model'} (run ${run.id})`;
    if (this.repo.getByName(modelName)) modelName = `${modelName} [run ${run.id}]`;
    const info = await this.store(artifacts, {
      name: modelName,
      source: 'trained',
      provenance: { runId: run.id, architecture: config.arch, note: `final EMA model of ${where}` },
      droppedSoftmax,
      where: file,
    });
    const clean = result.metrics?.clean_acc;
    if (typeof clean === 'number' && config.dataset !== undefined) {
      let datasetId: number | null = null;
      try {
        datasetId = this.datasets.get(config.dataset).id;
      } catch {
        /* dataset removed since: no accuracy row */
      }
      if (datasetId !== null) {
        const robust = typeof result.metrics?.robust_acc_pgd === 'number' ? result.metrics.robust_acc_pgd : null;
        this.repo.setAccuracy(info.id, {
          datasetId,
          split: 'test',
          count: config.eval_subset ?? this.datasets.get(datasetId).splits.test?.count ?? 0,
          clean,
          robust,
          robustEps: robust === null ? null : (config.eps ?? null),
        });
      }
    }
    return this.get(info.id);
  }

  private async store(
    artifacts: LayersArtifacts,
    meta: {
      name: string;
      source: ModelInfo['source'];
      provenance: ModelInfo['provenance'];
      droppedSoftmax: boolean;
      where: string;
      evaluate?: { dataset: number | string; count?: number; robustEps?: number; onProgress?: EvalProgress };
      /** The model the artifacts came from, disposed here like a loaded one. */
      prebuilt?: tf.LayersModel;
    },
  ): Promise<ModelInfo> {
    // The evaluation runs before the files and the row are written, so an import whose
    // evaluation fails, is cancelled or whose process is killed leaves no row and no files.
    let accuracy: ModelAccuracy | null = null;
    const evaluate = meta.evaluate;
    const beforeWrite = evaluate ? async (m: tf.LayersModel) => void (accuracy = await this.evaluateLoaded(m, evaluate.dataset, evaluate)) : undefined;
    // storeModelFiles disposes the model (a prebuilt one too) when it fails
    const { model, files } = await storeModelFiles(this.root, artifacts, meta.where, meta.prebuilt, beforeWrite);
    try {
      const id = this.repo.create({
        name: meta.name,
        source: meta.source,
        provenance: meta.provenance,
        droppedSoftmax: meta.droppedSoftmax,
        ...files,
        accuracy,
      });
      return this.get(id);
    } finally {
      model.dispose();
    }
  }

  /** Clean (and PGD-20 L∞ robust) accuracy on a dataset's test split, stored with the model. */
  async evaluate(
    idOrName: number | string,
    dataset: number | string,
    opts: { count?: number; robustEps?: number; split?: 'train' | 'test'; onProgress?: EvalProgress } = {},
  ): Promise<ModelAccuracy> {
    const info = this.get(idOrName);
    const model = await loadModelFromDir(info.storageDir);
    try {
      const accuracy = await this.evaluateLoaded(model, dataset, opts);
      this.repo.setAccuracy(info.id, accuracy);
      return accuracy;
    } finally {
      model.dispose();
    }
  }

  private async evaluateLoaded(
    model: tf.LayersModel,
    dataset: number | string,
    opts: { count?: number; robustEps?: number; split?: 'train' | 'test'; onProgress?: EvalProgress },
  ): Promise<ModelAccuracy> {
    const d = this.datasets.get(dataset);
    const split = opts.split ?? (d.splits.test ? 'test' : 'train');
    const { inputShape } = describeModel(model, FILE);
    if (inputShape.some((v, i) => v !== d.shape[i])) {
      throw new Error(`${FILE}: the model takes [${inputShape.join(', ')}] images, dataset "${d.name}" has [${d.shape.join(', ')}]`);
    }
    const reader = this.datasets.openSplit(d.id, split);
    try {
      const count = Math.min(opts.count ?? reader.count, reader.count);
      let clean = 0;
      let robust = 0;
      for (let first = 0; first < count; first += EVAL_BATCH) {
        const n = Math.min(EVAL_BATCH, count - first);
        const labels = Int32Array.from(reader.labels.subarray(first, first + n));
        const x = imagesToTensor(reader.readRange(first, n), n, d.shape);
        const correct = (images: tf.Tensor4D): number =>
          tf.tidy(() => {
            const pred = (model.apply(images, { training: false }) as tf.Tensor2D).argMax(1);
            return tf.sum(tf.equal(pred, tf.tensor1d(labels, 'int32'))).dataSync()[0]!;
          });
        clean += correct(x);
        if (opts.robustEps !== undefined) {
          const adv = pgdAttack(model, x, labels, { eps: opts.robustEps, steps: 20, stepSize: opts.robustEps / 4, seed: first });
          robust += correct(adv);
          adv.dispose();
        }
        x.dispose();
        await opts.onProgress?.(first + n, count);
      }
      return {
        datasetId: d.id,
        split,
        count,
        clean: count ? clean / count : 0,
        robust: opts.robustEps === undefined || !count ? null : robust / count,
        robustEps: opts.robustEps ?? null,
      };
    } finally {
      reader.close();
    }
  }

  remove(idOrName: number | string): void {
    const m = this.get(idOrName);
    this.repo.remove(m.id);
    if (!this.repo.list().some((o) => o.storageDir === m.storageDir)) fs.rmSync(m.storageDir, { recursive: true, force: true });
  }
}
