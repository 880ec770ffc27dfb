/**
 * One training step of standard training, PGD-AT (Madry) or TRADES with per-sample radii ε_i.
 * The attack runs with the model in inference mode, so batch-norm statistics are not updated
 * while the attack searches; the loss forward passes run in training mode.
 */
import * as tf from '@tensorflow/tfjs';
import type { TrainConfig, TrainMethod } from '../../../src-shared/domain/training';
import { crossEntropyPerSample, linfAttack, tradesKlPerSample } from '../attacks';
import type { Sgd } from './optimizer';

export type { TrainMethod };

export interface StepOptions {
  method: TrainMethod;
  /** One radius for all or one signed radius per sample (ε_i < 0: anti-adversarial). */
  eps: number | Float32Array;
  attackSteps: number;
  /** Absolute step size; null = 2.5·|ε_i|/steps per sample. */
  attackStepSize: number | null;
  beta: number;
  labelSmoothing: number;
  /** Seed of the attack's random start (deterministic steps for exact resume). */
  seed: number;
  /** Per-sample loss weights (online PUMA prunes with weight 0); null = all 1. */
  weights?: Float32Array | null;
}

/** The settings of a training config the step reads (`puma train` and `puma bench` pass the same). */
export type StepConfig = Pick<TrainConfig, 'method' | 'attack_steps' | 'attack_step_size' | 'beta' | 'label_smoothing'>;

/** The step's options for one batch of a run: its radii, loss weights and attack seed. */
export function stepOptionsFor(c: StepConfig, batch: { eps: number | Float32Array; seed: number; weights?: Float32Array | null }): StepOptions {
  return {
    method: c.method,
    eps: batch.eps,
    attackSteps: c.attack_steps,
    attackStepSize: c.attack_step_size,
    beta: c.beta,
    labelSmoothing: c.label_smoothing,
    seed: batch.seed,
    weights: batch.weights ?? null,
  };
}

export interface StepResult {
  loss: number;
  /** 1 when the prediction on the training input (x' for PGD-AT, x for the rest) is correct. */
  correct: Uint8Array;
}

/** Label-smoothed cross-entropy per sample. */
export function smoothedCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, smoothing: number): tf.Tensor1D {
  return tf.tidy(() => {
    if (smoothing === 0) return crossEntropyPerSample(logits, labels);
    const classes = logits.shape[1];
    const target = tf.add(tf.mul(tf.oneHot(labels, classes).toFloat(), 1 - smoothing), smoothing / classes);
    return tf.neg(tf.sum(tf.mul(target, tf.logSoftmax(logits)), 1)) as tf.Tensor1D;
  });
}

/** The attacked batch the method trains on (a new tensor), or null for standard training. */
export function attackBatch(model: tf.LayersModel, x: tf.Tensor4D, labels: tf.Tensor1D, o: StepOptions): tf.Tensor4D | null {
  if (o.method === 'standard' || o.attackSteps === 0) return null;
  const f = (input: tf.Tensor4D) => model.apply(input, { training: false }) as tf.Tensor2D;
  return linfAttack(f, x, labels, {
    eps: o.eps,
    steps: o.attackSteps,
    ...(o.attackStepSize != null ? { stepSize: o.attackStepSize } : {}),
    randomStart: 'uniform',
    loss: o.method === 'trades' ? 'trades-kl' : 'ce',
    seed: o.seed,
  });
}

/** Weighted mean of per-sample losses: Σ w_i l_i / Σ w_i (plain mean without weights). */
function weightedMean(values: tf.Tensor1D, weights: tf.Tensor1D | null): tf.Scalar {
  if (!weights) return tf.mean(values) as tf.Scalar;
  return tf.div(tf.sum(tf.mul(values, weights)), tf.maximum(tf.sum(weights), 1e-12)) as tf.Scalar;
}

/** Loss of the method on (x, x_adv); runs the model in training mode. */
export function methodLoss(
  model: tf.LayersModel,
  x: tf.Tensor4D,
  xAdv: tf.Tensor4D | null,
  labels: tf.Tensor1D,
  o: StepOptions,
  weights: tf.Tensor1D | null,
  predictionsOut?: { logits: tf.Tensor2D | null },
): tf.Scalar {
  const fwd = (input: tf.Tensor4D) => model.apply(input, { training: true }) as tf.Tensor2D;
  if (o.method === 'pgd_at' && xAdv) {
    const logits = fwd(xAdv);
    if (predictionsOut) predictionsOut.logits = tf.keep(logits.clone());
    return weightedMean(smoothedCrossEntropy(logits, labels, o.labelSmoothing), weights);
  }
  const logits = fwd(x);
  if (predictionsOut) predictionsOut.logits = tf.keep(logits.clone());
  const natural = weightedMean(smoothedCrossEntropy(logits, labels, o.labelSmoothing), weights);
  if (o.method !== 'trades' || !xAdv || o.beta === 0) return natural;
  const advLogits = fwd(xAdv);
  const kl = tradesKlPerSample(advLogits, tf.softmax(logits) as tf.Tensor2D);
  return tf.add(natural, tf.mul(weightedMean(kl, weights), o.beta)) as tf.Scalar;
}

/** The gradients of one batch (or one shard of it) and what the step reports about it. */
export interface MethodGradients {
  /** One gradient per variable, in the variables' order (caller disposes). */
  grads: tf.Tensor[];
  /** The method's loss, a weighted mean over the batch. */
  loss: number;
  correct: Uint8Array;
  /** Σ of the per-sample loss weights (the batch size without weights): the loss's denominator. */
  weightSum: number;
}

/** Attack + method loss + gradients w.r.t. `variables`, no update. */
export function methodGradients(model: tf.LayersModel, variables: tf.Variable[], x: tf.Tensor4D, labels: tf.Tensor1D, o: StepOptions): MethodGradients {
  const xAdv = attackBatch(model, x, labels, o);
  const weights = o.weights ? tf.tensor1d(o.weights) : null;
  const out: { logits: tf.Tensor2D | null } = { logits: null };
  try {
    const { value, grads } = tf.variableGrads(() => methodLoss(model, x, xAdv, labels, o, weights, out), variables);
    const loss = value.dataSync()[0]!;
    value.dispose();
    const pred = tf.tidy(() => tf.argMax(out.logits!, 1));
    const predicted = pred.dataSync();
    pred.dispose();
    const y = labels.dataSync();
    const correct = new Uint8Array(predicted.length);
    for (let i = 0; i < predicted.length; i++) correct[i] = predicted[i] === y[i] ? 1 : 0;
    const weightSum = o.weights ? o.weights.reduce((p, q) => p + q, 0) : x.shape[0];
    return { grads: variables.map((v) => grads[v.name] ?? tf.zerosLike(v)), loss, correct, weightSum };
  } finally {
    xAdv?.dispose();
    weights?.dispose();
    out.logits?.dispose();
  }
}

/** Throws when a step's loss is not finite (a diverged run), naming the learning rate. */
export function checkFiniteLoss(loss: number, lr: number): void {
  if (!Number.isFinite(loss)) throw new Error(`src-main/engine/training/step.ts: the training loss became ${loss} (learning rate ${lr} too high?)`);
}

/** Attack + loss + gradient + SGD update with learning rate `lr`. */
export function trainStepAdversarial(model: tf.LayersModel, sgd: Sgd, x: tf.Tensor4D, labels: tf.Tensor1D, o: StepOptions, lr: number): StepResult {
  const g = methodGradients(model, sgd.variables, x, labels, o);
  try {
    sgd.apply(Object.fromEntries(sgd.variables.map((v, i) => [v.name, g.grads[i]!])), lr);
  } finally {
    tf.dispose(g.grads);
  }
  checkFiniteLoss(g.loss, lr);
  return { loss: g.loss, correct: g.correct };
}
