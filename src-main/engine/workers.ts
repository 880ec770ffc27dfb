// Worker processes for the engine: child_process.fork (tfjs-node cannot load in a second
// thread, and wasm is single-threaded in Node), one tfjs backend per process.
// Data-parallel training and evaluation (training/parallel-step.ts, training/evaluate.ts): the
// batch is split into shards, each worker (and the main process) computes its shard.
import * as tf from '@tensorflow/tfjs';
import type { ChildProcess } from 'node:child_process';
import { forkEntry } from '../processes';
import type { CreateModelOptions } from './models';
import type { WorkerRequest, WorkerResponse } from './worker-protocol';

type Pending = { resolve: (r: WorkerResponse) => void; reject: (e: Error) => void };
type RequestBody = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

class EngineWorker {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  constructor(
    readonly child: ChildProcess,
    readonly index: number,
  ) {
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
  send<T extends Extract<WorkerResponse, { ok: true }>['type']>(
    body: RequestBody,
  ): { sent: Promise<void>; response: Promise<Extract<WorkerResponse, { type: T; ok: true }>> } {
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

export interface WorkerPoolOptions {
  workers: number;
  backend?: string;
}

export class EngineWorkerPool {
  private constructor(
    private readonly workers: EngineWorker[],
    readonly backend: string,
    readonly device: string,
  ) {}

  get size(): number {
    return this.workers.length;
  }

  static async start(opts: WorkerPoolOptions): Promise<EngineWorkerPool> {
    if (!Number.isInteger(opts.workers) || opts.workers < 1) {
      throw new Error(`workers.ts: workers must be a positive integer, got ${opts.workers}`);
    }
    const workers = Array.from({ length: opts.workers }, (_, i) => {
      const child = forkEntry('worker-main', { serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
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

/** The random-start seed of shard s of a data-parallel step (shard 0 keeps the step's seed). */
export function attackShardSeed(seed: number, shard: number): number {
  return shard === 0 ? seed : (Math.imul(seed ^ 0x5bd1e995, shard + 1) >>> 1) % 2147483647;
}
