import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crossEntropyPerSample } from '../../../src-main/engine/attacks';
import {
  ArrayBatchSource,
  attackBatch,
  emaDecay,
  learningRateAt,
  loadModel,
  Sgd,
  SimulatedCrash,
  TrainingStopped,
  trainModel,
  buildModel,
  trainingProcesses,
  methodGradients,
  trainStepAdversarial,
  dataParallelTrainStepAdversarial,
  evaluateRobustness,
  evaluateRobustnessParallel,
  type StepOptions,
} from '../../../src-main/engine/training';
import { EngineWorkerPool, attackShardSeed } from '../../../src-main/engine/workers';
import { testRandom } from '../../helpers/seed';
import { tempDir } from '../../helpers/tmp';
import { quadrantSet, tinyConfig, wasm, weightsOf } from './helpers';

const train = quadrantSet(256, 1);
const test = quadrantSet(200, 2);
const dataFor = (batch = 32, seed = 0) => ({
  pool: new ArrayBatchSource(train, batch, seed),
  poolSize: 256,
  test,
  inputShape: [8, 8, 1] as [number, number, number],
  numClasses: 4,
});
const tmp = tempDir('puma-train-');

beforeAll(wasm);
afterAll(() => tmp.cleanup());

describe('optimiser, schedules, EMA rule', () => {
  it('SGD with Nesterov momentum and weight decay follows the PyTorch update', () => {
    const w = tf.variable(tf.tensor2d([[1, -2]]), true, 'sgd_test_w');
    const sgd = new Sgd([w], { momentum: 0.9, nesterov: true, weightDecay: 0.1 });
    const g = tf.tensor2d([[0.5, 0.5]]);
    sgd.apply({ [w.name]: g }, 0.1);
    // step 1: g' = g + 0.1·w = [0.6, 0.3]; b = g'; d = g' + 0.9·b = [1.14, 0.57]
    expect(Array.from(w.dataSync())).toEqual([expect.closeTo(1 - 0.114, 6), expect.closeTo(-2 - 0.057, 6)]);
    const w1 = Array.from(w.dataSync());
    sgd.apply({ [w.name]: g }, 0.1);
    const gp = [0.5 + 0.1 * w1[0]!, 0.5 + 0.1 * w1[1]!];
    const b = [0.9 * 0.6 + gp[0]!, 0.9 * 0.3 + gp[1]!];
    const expected = [w1[0]! - 0.1 * (gp[0]! + 0.9 * b[0]!), w1[1]! - 0.1 * (gp[1]! + 0.9 * b[1]!)];
    expect(w.dataSync()[0]).toBeCloseTo(expected[0]!, 5);
    expect(w.dataSync()[1]).toBeCloseTo(expected[1]!, 5);
    sgd.dispose();
    w.dispose();
    g.dispose();
  });

  it('one-cycle warms up then anneals; step drops at milestones', () => {
    const o = { kind: 'onecycle' as const, lr: 0.2, totalSteps: 1000, warmupShare: 0.1 };
    expect(learningRateAt(0, o)).toBeCloseTo(0.2 / 25, 8);
    expect(learningRateAt(50, o)).toBeGreaterThan(learningRateAt(10, o));
    expect(learningRateAt(100, o)).toBeCloseTo(0.2, 6);
    expect(learningRateAt(500, o)).toBeLessThan(0.2);
    expect(learningRateAt(999, o)).toBeLessThan(1e-5);
    const s = { kind: 'step' as const, lr: 0.1, totalSteps: 100, milestones: [0.5, 0.75], gamma: 0.1 };
    expect(learningRateAt(49, s)).toBeCloseTo(0.1, 8);
    expect(learningRateAt(50, s)).toBeCloseTo(0.01, 8);
    expect(learningRateAt(80, s)).toBeCloseTo(0.001, 8);
  });

  it('EMA decay: plain copy during warm-up, then min(τ, (1+Δ)/(10+Δ))', () => {
    expect(emaDecay(5, 0.995, 10)).toBe(0);
    expect(emaDecay(10, 0.995, 10)).toBeCloseTo(0.1, 10);
    expect(emaDecay(20, 0.995, 10)).toBeCloseTo(11 / 20, 10);
    expect(emaDecay(1e6, 0.995, 10)).toBe(0.995);
    expect(emaDecay(100, 0, 10)).toBe(0);
  });
});

describe('attacks inside training', () => {
  it('anti-adversarial radii lower the loss, adversarial ones raise it', async () => {
    const model = buildModel(tinyConfig(), { inputShape: [8, 8, 1], numClasses: 4 }, 5);
    const x = tf.tensor4d(train.images.subarray(0, 64 * 64), [64, 8, 8, 1]);
    const y = tf.tensor1d(train.labels.subarray(0, 64), 'int32');
    const loss = (input: tf.Tensor4D) => tf.tidy(() => tf.mean(crossEntropyPerSample(model.apply(input) as tf.Tensor2D, y)).dataSync()[0]!);
    const base = { method: 'pgd_at' as const, attackSteps: 5, attackStepSize: null, beta: 6, labelSmoothing: 0, seed: 1 };
    const anti = attackBatch(model, x, y, { ...base, eps: new Float32Array(64).fill(-0.1) })!;
    const adv = attackBatch(model, x, y, { ...base, eps: new Float32Array(64).fill(0.1) })!;
    const clean = loss(x);
    expect(loss(anti)).toBeLessThan(clean - 0.01);
    expect(loss(adv)).toBeGreaterThan(clean + 0.01);
    // perturbations stay in their balls
    expect(tf.max(tf.abs(tf.sub(anti, x))).dataSync()[0]).toBeLessThanOrEqual(0.1 + 1e-6);
    tf.dispose([x, y, anti, adv]);
    model.dispose();
  });
});

describe('training loop', () => {
  for (const method of ['standard', 'pgd_at', 'trades'] as const) {
    it(`a tiny model learns under ${method} (clearly above the 25 % chance)`, async () => {
      const r = await trainModel({ config: tinyConfig({ method, seed: 1 }), data: dataFor(), runDir: path.join(tmp.dir, method) });
      expect(r.eval!.clean_acc).toBeGreaterThan(0.6);
      if (method !== 'standard') expect(r.eval!.robust_acc_pgd).toBeGreaterThan(0.4);
      expect(r.eval!.robust_acc_cw).toBeLessThanOrEqual(r.eval!.clean_acc);
      // the final EMA model is a TF.js Layers model on disk
      const loaded = await loadModel(r.finalModelDir);
      const a = weightsOf(loaded);
      const b = weightsOf(r.ema);
      expect(a.length).toBe(b.length);
      a.forEach((w, i) => expect(Array.from(w)).toEqual(Array.from(b[i]!)));
      loaded.dispose();
      r.live.dispose();
      r.ema.dispose();
    });
  }

  it('per-sample ε_i with anti-adversarial samples trains, and EMA with τ = 0 equals the live weights', async () => {
    const radii = new Float32Array(256).map((_, i) => (i % 3 === 0 ? -0.05 : 0.1));
    const data = { ...dataFor(), pool: new ArrayBatchSource(train, 32, 0, { radii }) };
    const r = await trainModel({ config: tinyConfig({ ema_tau: 0, epochs: 2 }), data, runDir: path.join(tmp.dir, 'tau0') });
    expect(r.eval!.clean_acc).toBeGreaterThan(0.5);
    const live = weightsOf(r.live);
    const ema = weightsOf(r.ema);
    live.forEach((w, i) => expect(Array.from(ema[i]!)).toEqual(Array.from(w)));
    r.live.dispose();
    r.ema.dispose();
  });

  it('with workers: 2 each step is shared with a worker process, and the model still learns under TRADES with per-sample radii', async () => {
    const radii = new Float32Array(256).map((_, i) => (i % 4 === 0 ? -0.05 : 0.1));
    const data = { ...dataFor(), pool: new ArrayBatchSource(train, 32, 0, { radii }) };
    const r = await trainModel({ config: tinyConfig({ method: 'trades', workers: 2, seed: 1 }), data, runDir: path.join(tmp.dir, 'workers') });
    expect(r.trainingProcesses).toBe(2);
    expect(r.eval!.clean_acc).toBeGreaterThan(0.6);
    expect(r.eval!.robust_acc_pgd).toBeGreaterThan(0.4);
    r.live.dispose();
    r.ema.dispose();
  });

  it('training processes: workers 0 = one per core on wasm/cpu, always 1 on native TensorFlow', () => {
    expect(trainingProcesses(tinyConfig({ workers: 0 }), 'wasm')).toBe(os.cpus().length);
    expect(trainingProcesses(tinyConfig({ workers: 3 }), 'cpu')).toBe(3);
    expect(trainingProcesses(tinyConfig({ workers: 0 }), 'tensorflow')).toBe(1);
    expect(trainingProcesses(tinyConfig({ workers: 2, method: 'standard' }), 'wasm')).toBe(2);
  });

  it('records per-sample correctness per epoch and derives CD', async () => {
    const dir = path.join(tmp.dir, 'cd');
    const r = await trainModel({ config: tinyConfig({ record_correctness: true, epochs: 2 }), data: dataFor(), runDir: dir });
    const files = fs.readdirSync(path.join(dir, 'correctness')).sort();
    expect(files).toEqual(['epoch-0000.u8', 'epoch-0001.u8']);
    const e1 = fs.readFileSync(path.join(dir, 'correctness', files[1]!));
    expect(e1.length).toBe(256);
    expect(e1.every((v) => v === 1 || v === 2)).toBe(true);
    const cd = r.classificationDifficulty!;
    for (let i = 0; i < 256; i++) expect([0, 0.5, 1]).toContain(cd[i]);
    r.live.dispose();
    r.ema.dispose();
  });
});

describe('checkpoint and exact resume', () => {
  const config = tinyConfig({ method: 'trades', epochs: 3, seed: 7, ema_tau: 0.9 });
  let reference: Float32Array[][] = [];

  beforeAll(async () => {
    const r = await trainModel({ config, data: dataFor(), runDir: path.join(tmp.dir, 'ref') });
    reference = [weightsOf(r.live), weightsOf(r.ema)];
    r.live.dispose();
    r.ema.dispose();
  });

  const expectSame = (live: tf.LayersModel, ema: tf.LayersModel, why: string) => {
    const got = [weightsOf(live), weightsOf(ema)];
    got.forEach((ws, m) => ws.forEach((w, i) => expect(Array.from(w), `${m ? 'EMA' : 'live'} weight ${i}, ${why}`).toEqual(Array.from(reference[m]![i]!))));
  };

  it('a run killed at a random step and resumed ends with the same weights', async () => {
    const dir = path.join(tmp.dir, 'killed');
    const batches = 8 * 3;
    const random = testRandom();
    const crashAt = random.int(9, batches - 1); // somewhere after the first epoch checkpoint
    const why = `crashed at step ${crashAt}, ${random.label}`;
    await expect(trainModel({ config, data: dataFor(), runDir: dir, hooks: { crashAtStep: crashAt } }), why).rejects.toBeInstanceOf(SimulatedCrash);
    const r = await trainModel({ config, data: dataFor(), runDir: dir });
    expect(r.resumedFrom, why).not.toBeNull();
    expectSame(r.live, r.ema, why);
    r.live.dispose();
    r.ema.dispose();
  });

  it('a run cancelled mid-epoch checkpoints its data position and resumes exactly', async () => {
    const dir = path.join(tmp.dir, 'cancelled');
    let calls = 0;
    const random = testRandom();
    const stopAt = random.int(5, 17);
    const why = `stopped at step ${stopAt}, ${random.label}`;
    const err = await trainModel({ config, data: dataFor(), runDir: dir, hooks: { shouldStop: () => ++calls > stopAt } }).catch((e) => e);
    expect(err, why).toBeInstanceOf(TrainingStopped);
    expect((err as TrainingStopped).state.globalStep, why).toBe(stopAt);
    const r = await trainModel({ config, data: dataFor(), runDir: dir });
    expectSame(r.live, r.ema, why);
    r.live.dispose();
    r.ema.dispose();
  });
});

describe('data-parallel training step', () => {
  const shape = { inputShape: [8, 8, 1] as [number, number, number], numClasses: 4 };
  let pool: EngineWorkerPool | null = null;
  afterAll(async () => {
    await pool?.close();
  });

  /** Two copies of the tiny model with their optimisers, and the worker's model of the same shape. */
  async function setUp(seed: number) {
    const config = tinyConfig();
    pool ??= await EngineWorkerPool.start({ workers: 1, backend: 'wasm' });
    await pool.createModel('mlp', { ...shape, width: config.width!, depth: config.depth!, seed });
    const models = [0, 1].map(() => buildModel(config, shape, seed));
    const sgds = models.map(
      (m) =>
        new Sgd(
          m.trainableWeights.map((w) => w.read() as tf.Variable),
          { momentum: 0.9, nesterov: true, weightDecay: 5e-4 },
        ),
    );
    return { models, sgds };
  }

  const x = tf.tensor4d(train.images.subarray(0, 9 * 64), [9, 8, 8, 1]); // odd batch: shards of 5 and 4
  const labelArray = Int32Array.from(train.labels.subarray(0, 9));
  const labels = tf.tensor1d(labelArray, 'int32');
  const lossWeights = new Float32Array([1, 0, 2, 1, 1, 0.5, 1, 0, 3]); // online PUMA-style weights

  it('equals the single-process step where the split cannot matter (no attack; loss weights, label smoothing)', async () => {
    const { models, sgds } = await setUp(7);
    const o: StepOptions = { method: 'standard', eps: 0.1, attackSteps: 0, attackStepSize: null, beta: 0, labelSmoothing: 0.1, seed: 3, weights: lossWeights };
    const single = trainStepAdversarial(models[0]!, sgds[0]!, x, labels, o, 0.5);
    const split = await dataParallelTrainStepAdversarial(pool!, models[1]!, sgds[1]!, x, labelArray, o, 0.5);
    expect(split.loss).toBeCloseTo(single.loss, 5);
    expect(Array.from(split.correct)).toEqual(Array.from(single.correct));
    const [a, b] = models.map(weightsOf);
    const moved = relative(a![0]!, weightsOf(buildModel(tinyConfig(), shape, 7))[0]!);
    expect(moved).toBeGreaterThan(1e-3); // the step did something
    a!.forEach((w, i) => expect(relative(b![i]!, w)).toBeLessThan(1e-5));
  });

  it('with TRADES and signed radii: the worker attacks its shard with its own seed, and the shards combine by their loss weights', async () => {
    const { models, sgds } = await setUp(8);
    const eps = new Float32Array([0.1, -0.05, 0.1, 0.1, -0.05, 0.1, 0.1, 0.1, -0.05]);
    const o: StepOptions = { method: 'trades', eps, attackSteps: 3, attackStepSize: null, beta: 3, labelSmoothing: 0, seed: 11, weights: lossWeights };
    const split = await dataParallelTrainStepAdversarial(pool!, models[1]!, sgds[1]!, x, labelArray, o, 0.5);
    // the same step rebuilt in this process: each shard's gradients with that shard's options
    const shards = [
      [0, 5],
      [5, 9],
    ].map(([start, end], s) => {
      const opts = { ...o, eps: eps.slice(start, end), weights: lossWeights.slice(start, end), seed: attackShardSeed(o.seed, s) };
      return methodGradients(models[0]!, sgds[0]!.variables, tf.slice(x, start, end - start!), tf.slice(labels, start, end - start!), opts);
    });
    const total = shards[0]!.weightSum + shards[1]!.weightSum;
    expect(total).toBeCloseTo(
      lossWeights.reduce((p, q) => p + q, 0),
      5,
    );
    const grads = Object.fromEntries(
      sgds[0]!.variables.map((v, i) => [
        v.name,
        tf.add(tf.mul(shards[0]!.grads[i]!, shards[0]!.weightSum / total), tf.mul(shards[1]!.grads[i]!, shards[1]!.weightSum / total)),
      ]),
    );
    sgds[0]!.apply(grads, 0.5);
    expect(split.loss).toBeCloseTo((shards[0]!.loss * shards[0]!.weightSum + shards[1]!.loss * shards[1]!.weightSum) / total, 3);
    const [a, b] = models.map(weightsOf);
    a!.forEach((w, i) => expect(relative(b![i]!, w)).toBeLessThan(1e-3));
  });
});

describe('data-parallel evaluation', () => {
  it('splitting the test batches over a worker gives the single-process counts exactly (same attack seeds)', async () => {
    const config = tinyConfig();
    const shape = { inputShape: [8, 8, 1] as [number, number, number], numClasses: 4 };
    const pool = await EngineWorkerPool.start({ workers: 1, backend: 'wasm' });
    try {
      await pool.createModel('mlp', { ...shape, width: config.width!, depth: config.depth!, seed: 2 });
      // a trained model, so that the attacks change some predictions
      const r = await trainModel({ config: tinyConfig({ epochs: 1 }), data: dataFor(), runDir: path.join(tmp.dir, 'eval-parallel') });
      const o = { eps: 0.15, steps: 3, stepSize: null, batchSize: 45, seed: 9 }; // 200 samples: 5 batches, the last short
      const fractions: number[] = [];
      const single = await evaluateRobustness(r.ema, test, o);
      const split = await evaluateRobustnessParallel(pool, r.ema, test, { ...o, onBatch: (f) => void fractions.push(f) });
      expect(split.count).toBe(200);
      expect([split.clean_acc, split.robust_acc_pgd, split.robust_acc_cw]).toEqual([single.clean_acc, single.robust_acc_pgd, single.robust_acc_cw]);
      expect(single.robust_acc_pgd).toBeLessThan(single.clean_acc);
      expect(fractions.at(-1)).toBe(1);
      r.live.dispose();
      r.ema.dispose();
    } finally {
      await pool.close();
    }
  });
});

function relative(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}
