/**
 * A briefly trained cnn-small for the margin benchmarks: random weights give unrealistic margins
 * (and so iteration counts), a trained model gives the ones a real margin job sees. Trained with a
 * plain tf fit on the first `trainCount` Fashion-MNIST training images and cached as a TF.js
 * Layers model under `cacheDir`, so repeated bench runs reuse it.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { createModel } from '../src-main/engine';
import { fileSaveHandler } from '../src-main/services/models';

export interface TrainedModelInfo {
  dir: string;
  trainCount: number;
  epochs: number;
  /** Clean accuracy on the held-out images given to the trainer. */
  heldOutAccuracy: number;
  trainSeconds: number;
}

interface ImageSource {
  readRange(offset: number, count: number): Uint8Array;
  labels: ArrayLike<number>;
  count: number;
}

function toTensors(source: ImageSource, offset: number, count: number): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const bytes = source.readRange(offset, count);
  const x = tf.tensor4d(
    Float32Array.from(bytes, (v) => v / 255),
    [count, 28, 28, 1],
  );
  const labels = Int32Array.from({ length: count }, (_, i) => source.labels[offset + i]!);
  const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 10).toFloat() as tf.Tensor2D;
  return { x, y };
}

export async function trainedCnnSmall(source: ImageSource, cacheDir: string, opts: { trainCount?: number; epochs?: number } = {}): Promise<TrainedModelInfo> {
  const trainCount = opts.trainCount ?? 8192;
  const epochs = opts.epochs ?? 2;
  const dir = path.join(cacheDir, `cnn-small-fmnist-${trainCount}x${epochs}`);
  const infoFile = path.join(dir, 'bench-info.json');
  if (fs.existsSync(infoFile) && fs.existsSync(path.join(dir, 'model.json'))) {
    return JSON.parse(fs.readFileSync(infoFile, 'utf8')) as TrainedModelInfo;
  }
  if (source.count < trainCount + 1000) throw new Error(`bench/margins-model.ts: need ${trainCount + 1000} images, the source has ${source.count}`);
  const t0 = performance.now();
  const model = createModel('cnn-small', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  // The model outputs logits.
  model.compile({ optimizer: tf.train.adam(1e-3), loss: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.losses.softmaxCrossEntropy(yTrue, yPred) });
  const train = toTensors(source, 0, trainCount);
  await model.fit(train.x, train.y, { epochs, batchSize: 128, shuffle: true, verbose: 0 });
  train.x.dispose();
  train.y.dispose();
  const test = toTensors(source, trainCount, 1000);
  const heldOutAccuracy = tf.tidy(() => tf.mean(tf.equal(tf.argMax(model.predict(test.x) as tf.Tensor, 1), tf.argMax(test.y, 1)).toFloat()).dataSync()[0]!);
  test.x.dispose();
  test.y.dispose();
  fs.mkdirSync(dir, { recursive: true });
  await model.save(fileSaveHandler(dir));
  model.dispose();
  const info: TrainedModelInfo = { dir, trainCount, epochs, heldOutAccuracy, trainSeconds: (performance.now() - t0) / 1000 };
  fs.writeFileSync(infoFile, JSON.stringify(info, null, 2));
  return info;
}
