// Worker processes for the engine: child_process.fork (tfjs-node cannot load in a second
// thread, and wasm is single-threaded in Node), one tfjs backend per process.
// Data-parallel training: the batch is split into shards, each worker (and the main process)
// computes the gradient of its shard, the main process averages them and applies the optimizer.
import * as tf from '@tensorflow/tfjs';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { crossEntropy, pgdLinf } from './train-step';
import type { CreateModelOptions } from './models';
import type { WorkerRequest, WorkerResponse } from './worker-protocol';

type Pending = { resolve: (r: WorkerResponse) => void; reject: (e: Error) => void };
type RequestBody = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

class EngineWorker {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  constructor(readonly child: ChildProcess, readonly index: number) {
    child.on('message', (msg: WorkerResponse) => {
      const p = this.pending.get(msg.id);
      // (resolve/reject are typed by the request that created them)
      if (p == null) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg);
      else p.reject(new Error(`engine worker ${index}: ${msg.error}`));
    });
    child.on('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`engine worker ${index} exited with code ${code}`));
      this.pending.clear();
    });
  }

  request<T extends Extract<WorkerResponse, { ok: true }>['type']>(body: RequestBody): Promise<Extract<WorkerResponse, { type: T; ok: true }>> {
    return this.send<T>(body).response;
  }

  /**
   * Sends a request; `sent` settles once the message is written to the pipe. A caller about to
   * compute synchronously must await it first: a large message is written in pieces by the event
   * loop, so the worker would otherwise only receive it after that computation.
   */
  send<T extends Extract<WorkerResponse, { ok: true }>['type']>(body: RequestBody): { sent: Promise<void>; response: Promise<Extract<WorkerResponse, { type: T; ok: true }>> } {
    const id = this.nextId++;
    let markSent: (e?: Error | null) => void = () => {};
    const sent = new Promise<void>((resolve, reject) => {
      markSent = (e) => (e == null ? resolve() : reject(e));
    });
    const response = new Promise<Extract<WorkerResponse, { type: T; ok: true }>>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: WorkerResponse) => void, reject });
      this.child.send({ ...body, id } as WorkerRequest, (e) => markSent(e));
    });
    // a failed send also rejects `response` (the worker exits); nobody need await `sent`
    sent.catch(() => {});
    return { sent, response };
  }
}

function workerEntry(): { file: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  const ext = path.extname(here);
  const file = path.join(path.dirname(here), `worker-main${ext}`);
  // Running from TypeScript sources (tsx / vitest): the child needs the tsx loader too.
  return { file, execArgv: ext === '.ts' ? ['--import', 'tsx'] : [] };
}

/**
 * Whether this process may fork Node children. Not in the packaged Electron app (its code runs
 * from app.asar): its RunAsNode fuse is off (scripts/fuses.ts), and child_process.fork under
 * Electron works only through ELECTRON_RUN_AS_NODE. There the work stays in the job's process.
 */
export function canForkWorkers(versions: Partial<NodeJS.ProcessVersions> = process.versions, file = fileURLToPath(import.meta.url)): boolean {
  return !(versions.electron && /[\\/]app\.asar[\\/]/.test(file));
}

export interface WorkerPoolOptions {
  workers: number;
  backend?: string;
}

export class EngineWorkerPool {
  private constructor(private readonly workers: EngineWorker[], readonly backend: string, readonly device: string) {}

  get size(): number {
    return this.workers.length;
  }

  static async start(opts: WorkerPoolOptions): Promise<EngineWorkerPool> {
    if (!Number.isInteger(opts.workers) || opts.workers < 1) {
      throw new Error(`workers.ts: workers must be a positive integer, got ${opts.workers}`);
    }
    const { file, execArgv } = workerEntry();
    const workers = Array.from({ length: opts.workers }, (_, i) => {
      const child = fork(file, [], { execArgv, serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      return new EngineWorker(child, i);
    });
    try {
      const infos = await Promise.all(workers.map((w) => w.request<'init'>({ type: 'init', backend: opts.backend })));
      return new EngineWorkerPool(workers, infos[0].backend, infos[0].device);
    } catch (e) {
      workers.forEach((w) => w.child.kill());
      throw e;
    }
  }

  /** Builds the same architecture in every worker (weights are sent with each step). */
  async createModel(arch: string, options: CreateModelOptions): Promise<void> {
    await Promise.all(this.workers.map((w) => w.request<'model'>({ type: 'model', arch, options })));
  }

  /** Gradient of the mean cross-entropy of one shard, computed by worker `index`. */
  shardGradients(index: number, weights: Float32Array[], x: Float32Array, xShape: number[], labels: Int32Array) {
    return this.workers[index].send<'gradients'>({ type: 'gradients', weights, x, xShape, labels });
  }

  /** L-inf PGD of one shard with the given weights, computed by worker `index`. */
  shardPgd(index: number, weights: Float32Array[], x: Float32Array, xShape: number[], labels: Int32Array, attack: { eps: number; alpha: number; steps: number }) {
    return this.workers[index].send<'pgd'>({ type: 'pgd', weights, x, xShape, labels, ...attack });
  }

  /** The training step's gradients of one shard (attack included), by worker `index`. */
  shardTrain(index: number, request: Omit<Extract<WorkerRequest, { type: 'trainShard' }>, 'id' | 'type'>) {
    return this.workers[index].send<'trainShard'>({ type: 'trainShard', ...request });
  }

  /** Correct counts of a range of evaluation batches, by worker `index`. */
  shardEvaluate(index: number, request: Omit<Extract<WorkerRequest, { type: 'evaluate' }>, 'id' | 'type'>) {
    return this.workers[index].send<'evaluate'>({ type: 'evaluate', ...request });
  }

  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.child.exitCode != null) return resolve();
            w.child.once('exit', () => resolve());
            w.child.disconnect();
          }),
      ),
    );
  }
}

/**
 * One synchronous data-parallel SGD step: the batch is split into (pool.size + 1) shards; the
 * workers compute theirs while the main process computes the first; gradients are averaged
 * weighted by shard size, then applied by `optimizer` in the main process. Batch-norm running
 * statistics are updated from the main process's shard only. Returns the mean loss.
 */
export async function dataParallelTrainStep(
  pool: EngineWorkerPool,
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  x: tf.Tensor4D,
  labels: tf.Tensor1D,
): Promise<number> {
  const batch = x.shape[0];
  const sizes = shardSizes(batch, pool.size);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const weights = modelWeightArrays(model);
  const xData = x.dataSync() as Float32Array;
  const yData = Int32Array.from(labels.dataSync());
  const perImage = xData.length / batch;
  const remote = await sendShards(sizes, (worker, start, end) =>
    pool.shardGradients(worker, weights, xData.slice(start * perImage, end * perImage), [end - start, ...x.shape.slice(1)], yData.slice(start, end)),
  );
  // Main process shard, computed while the workers run theirs.
  const local = tf.tidy(() => {
    const xs = tf.slice(x, 0, sizes[0]);
    const ys = tf.slice(labels, 0, sizes[0]);
    const { value, grads } = tf.variableGrads(() => crossEntropy(model.apply(xs, { training: true }) as tf.Tensor2D, ys), vars);
    return { loss: value.dataSync()[0], grads: vars.map((v) => tf.keep(grads[v.name])) };
  });
  const results = await Promise.all(remote);
  const total = batch;
  const averaged: tf.NamedTensorMap = {};
  tf.tidy(() => {
    vars.forEach((v, i) => {
      let g = tf.mul(local.grads[i], sizes[0] / total);
      results.forEach((r, s) => {
        g = tf.add(g, tf.mul(tf.tensor(r.grads[i], v.shape), sizes[s + 1] / total));
      });
      averaged[v.name] = tf.keep(g);
    });
  });
  optimizer.applyGradients(averaged);
  tf.dispose([...local.grads, ...Object.values(averaged)]);
  return results.reduce((acc, r, s) => acc + (r.loss * sizes[s + 1]) / total, (local.loss * sizes[0]) / total);
}

/** Shard sizes for splitting `batch` over the main process and `workers` workers. */
export function shardSizes(batch: number, workers: number): number[] {
  const shards = Math.min(workers + 1, batch);
  return Array.from({ length: shards }, (_, i) => Math.floor(batch / shards) + (i < batch % shards ? 1 : 0));
}

/** Every weight of a model (batch-norm statistics included) as arrays, in model.weights order: what workers receive. */
export function modelWeightArrays(model: tf.LayersModel): Float32Array[] {
  return model.weights.map((w) => w.read().dataSync() as Float32Array);
}

/**
 * Sends shards 1, 2, ... of a split (`sizes`, shard 0 stays here) to the workers, `request`
 * making the request for worker `worker` and items [start, end). Resolves once every message has
 * left (see EngineWorker.send), so the caller may then compute shard 0 synchronously, with the
 * responses in shard order; a worker's failure surfaces when they are awaited, also when the
 * caller fails first.
 */
export async function sendShards<R>(
  sizes: number[],
  request: (worker: number, start: number, end: number) => { sent: Promise<void>; response: Promise<R> },
): Promise<Promise<R>[]> {
  const requests: Array<{ sent: Promise<void>; response: Promise<R> }> = [];
  let start = sizes[0]!;
  for (let s = 1; s < sizes.length; s++) {
    const end = start + sizes[s]!;
    requests.push(request(s - 1, start, end));
    start = end;
  }
  requests.forEach((r) => r.response.catch(() => {}));
  await Promise.all(requests.map((r) => r.sent));
  return requests.map((r) => r.response);
}

/**
 * L-inf PGD (the same steps as train-step.ts pgdLinf) with the batch split over the main process
 * and the pool's workers; samples are independent, so the result equals the single-process one.
 * Weights travel once per call, not once per step.
 */
export async function dataParallelPgdLinf(
  pool: EngineWorkerPool,
  model: tf.LayersModel,
  x: tf.Tensor4D,
  labels: tf.Tensor1D,
  eps: number,
  alpha: number,
  steps: number,
): Promise<tf.Tensor4D> {
  const batch = x.shape[0];
  const sizes = shardSizes(batch, pool.size);
  const xData = x.dataSync() as Float32Array;
  const yData = Int32Array.from(labels.dataSync());
  const perImage = xData.length / batch;
  // every weight: the attack runs in inference mode, which uses the batch-norm statistics
  const weights = modelWeightArrays(model);
  const remote = await sendShards(sizes, (worker, start, end) =>
    pool.shardPgd(worker, weights, xData.slice(start * perImage, end * perImage), [end - start, ...x.shape.slice(1)], yData.slice(start, end), { eps, alpha, steps }),
  );
  const local = tf.tidy(() => pgdLinf(model, tf.slice(x, 0, sizes[0]), tf.slice(labels, 0, sizes[0]), eps, alpha, steps));
  const shards = await Promise.all(remote);
  return tf.tidy(() => {
    const parts = [local, ...shards.map((r, s) => tf.tensor4d(r.adversarial, [sizes[s + 1], ...x.shape.slice(1)] as [number, number, number, number]))];
    const out = tf.concat(parts, 0) as tf.Tensor4D;
    local.dispose();
    return out;
  });
}

/** The random-start seed of shard s of a data-parallel step (shard 0 keeps the step's seed). */
export function attackShardSeed(seed: number, shard: number): number {
  return shard === 0 ? seed : (Math.imul(seed ^ 0x5bd1e995, shard + 1) >>> 1) % 2147483647;
}
