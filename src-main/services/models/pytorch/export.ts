/**
 * A model imported from PyTorch written back as a PyTorch state_dict with its family's key names
 * (`model.load_state_dict(torch.load(f))` into the public class), as `.pt` or `.safetensors`,
 * plus a JSON sidecar saying what it is. Files are written under a temporary name, then renamed
 * into place.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { MODEL_EXPORT_FORMATS, type ModelExportFormat, type ModelExportResult, type ModelInfo } from '../../../../src-shared/domain/models';
import { safetensorsBytes, torchSaveBytes, type OutTensor } from './writers';

export { MODEL_EXPORT_FORMATS as EXPORT_FORMATS, type ModelExportFormat as ExportFormat, type ModelExportResult as ExportResult };

/** The state_dict of `model`: each layer's weights under its PyTorch module prefix, in PyTorch layout. */
export function stateDictOf(model: tf.LayersModel, layers: Record<string, string>): Map<string, OutTensor> {
  const out = new Map<string, OutTensor>();
  for (const [name, prefix] of Object.entries(layers)) {
    const layer = model.getLayer(name);
    const w = layer.getWeights().map((t) => ({ shape: t.shape, data: t.dataSync() as Float32Array }));
    const cls = layer.getClassName();
    if (cls === 'Conv2D') {
      // HWIO → OIHW
      const [h, k, i, o] = w[0]!.shape as [number, number, number, number];
      const t = new Float32Array(w[0]!.data.length);
      for (let a = 0; a < o; a++)
        for (let b = 0; b < i; b++)
          for (let c = 0; c < h; c++) for (let d = 0; d < k; d++) t[((a * i + b) * h + c) * k + d] = w[0]!.data[((c * k + d) * i + b) * o + a]!;
      out.set(`${prefix}.weight`, { shape: [o, i, h, k], data: t });
      if (w[1]) out.set(`${prefix}.bias`, { shape: [o], data: Float32Array.from(w[1].data) });
    } else if (cls === 'Dense') {
      // (in, out) → (out, in)
      const [i, o] = w[0]!.shape as [number, number];
      const t = new Float32Array(w[0]!.data.length);
      for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) t[a * i + b] = w[0]!.data[b * o + a]!;
      out.set(`${prefix}.weight`, { shape: [o, i], data: t });
      out.set(`${prefix}.bias`, { shape: [o], data: Float32Array.from(w[1]!.data) });
    } else if (cls === 'BatchNormalization') {
      ['weight', 'bias', 'running_mean', 'running_var'].forEach((p, j) =>
        out.set(`${prefix}.${p}`, { shape: [...w[j]!.shape], data: Float32Array.from(w[j]!.data) }),
      );
      // BatchNorm2d's buffer: load_state_dict (strict) expects it
      out.set(`${prefix}.num_batches_tracked`, { shape: [], data: new BigInt64Array([0n]) });
    } else {
      throw new Error(`pytorch/export.ts: layer ${name} is a ${cls}; only Conv2D, Dense and BatchNormalization layers carry PyTorch weights`);
    }
  }
  return out;
}

/** The PyTorch side of a stored model; an error naming the model when it has none. */
export function pytorchSide(info: ModelInfo): NonNullable<ModelInfo['provenance']['pytorch']> & { layers: Record<string, string> } {
  const pt = info.provenance.pytorch;
  if (!pt?.layers) {
    throw new Error(
      `model ${info.id} "${info.name}" was not imported from PyTorch: only PyTorch-imported models can be exported for now (the app's own resnet18/preact-resnet18/wrn pad stride-2 convolutions like TF, so no PyTorch class computes what they compute)`,
    );
  }
  return { ...pt, layers: pt.layers };
}

/** Writes `model` (the stored model `info`) to `out` and `<out>.json`. */
export function exportPytorch(
  info: ModelInfo,
  model: tf.LayersModel,
  format: ModelExportFormat,
  out: string,
  extra: Record<string, unknown> = {},
): ModelExportResult {
  const pt = pytorchSide(info);
  const abs = path.resolve(out);
  if (!fs.existsSync(path.dirname(abs)) || !fs.statSync(path.dirname(abs)).isDirectory()) throw new Error(`${abs}: its folder does not exist`);
  const tensors = stateDictOf(model, pt.layers);
  const bytes =
    format === 'pt'
      ? torchSaveBytes(
          tensors,
          path
            .basename(abs)
            .replace(/\.[^.]*$/, '')
            .replace(/[^\w-]/g, '_') || 'archive',
        )
      : safetensorsBytes(tensors, { architecture: info.provenance.architecture ?? '' });
  const sidecar = {
    format,
    architecture: info.provenance.architecture ?? null,
    depth: pt.depth,
    width: pt.width,
    num_classes: info.numClasses,
    input_shape: info.inputShape,
    // inputs in [0, 1]; the public class (or a Normalization layer in front) applies this
    normalization: pt.normalization,
    model_id: info.id,
    name: info.name,
    run_id: info.provenance.runId ?? null,
    imported_from: info.provenance.importedFrom ?? null,
    accuracy: info.accuracy
      ? { clean: info.accuracy.clean, robust: info.accuracy.robust, eps: info.accuracy.robustEps, count: info.accuracy.count, split: info.accuracy.split }
      : null,
    keys: tensors.size,
    ...extra,
  };
  const write = (file: string, data: Uint8Array | string) => {
    const tmp = `${file}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  };
  write(abs, bytes);
  write(`${abs}.json`, JSON.stringify(sidecar, null, 2) + '\n');
  return { file: abs, sidecar: `${abs}.json`, format, keys: tensors.size };
}
