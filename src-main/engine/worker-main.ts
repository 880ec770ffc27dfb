// Entry point of an engine worker process (forked by workers.ts). One single-threaded tfjs
// backend per process: wasm has no threads in Node, so processes are how we use several cores.
// It computes shards of the real training step (training/step.ts) and of evaluations.
import * as tf from '@tensorflow/tfjs';
import { initEngine, createModel } from './index';
import { methodGradients } from './training/step';
import { evaluateCounts } from './training/evaluate';
import type { WorkerRequest, WorkerResponse } from './worker-protocol';

let model: tf.LayersModel | null = null;

function reply(msg: WorkerResponse): void {
  process.send?.(msg);
}

/** The worker's model with all of the main process's weights (batch-norm statistics included). */
function modelWithWeights(weights: Float32Array[]): tf.LayersModel {
  if (model == null) throw new Error('worker-main.ts: work requested before a model was created');
  const targets = model.weights;
  if (weights.length !== targets.length) {
    throw new Error(`worker-main.ts: got ${weights.length} weight arrays for ${targets.length} model weights`);
  }
  const tensors = weights.map((w, i) => tf.tensor(w, targets[i]!.shape as number[]));
  model.setWeights(tensors);
  tf.dispose(tensors);
  return model;
}

async function handle(req: WorkerRequest): Promise<WorkerResponse | null> {
  switch (req.type) {
    case 'init': {
      const info = await initEngine(req.backend);
      return { id: req.id, ok: true, type: 'init', backend: info.backend, device: info.device };
    }
    case 'model': {
      model?.dispose();
      model = createModel(req.arch, req.options);
      return { id: req.id, ok: true, type: 'model', trainableShapes: model.trainableWeights.map((w) => w.shape as number[]) };
    }
    case 'trainShard': {
      const m = modelWithWeights(req.weights);
      const start = performance.now();
      const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
      const x = tf.tensor4d(req.x, req.xShape as [number, number, number, number]);
      const y = tf.tensor1d(req.labels, 'int32');
      try {
        const g = methodGradients(m, vars, x, y, req.options);
        const grads = g.grads.map((t) => t.dataSync() as Float32Array);
        tf.dispose(g.grads);
        return { id: req.id, ok: true, type: 'trainShard', grads, loss: g.loss, correct: g.correct, weightSum: g.weightSum, ms: performance.now() - start };
      } finally {
        tf.dispose([x, y]);
      }
    }
    case 'evaluate': {
      const m = modelWithWeights(req.weights);
      const start = performance.now();
      const counts = await evaluateCounts(m, { images: req.images, labels: req.labels, shape: req.shape }, req.options);
      return { id: req.id, ok: true, type: 'evaluate', counts, ms: performance.now() - start };
    }
    case 'exit':
      process.exit(0);
  }
  return null;
}

process.on('message', (req: WorkerRequest) => {
  handle(req).then(
    (res) => res && reply(res),
    (e: unknown) => reply({ id: req.id, ok: false, error: e instanceof Error ? e.message : String(e) }),
  );
});
process.on('disconnect', () => process.exit(0));
