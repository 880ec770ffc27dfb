/**
 * L∞ sign-gradient attacks (FGSM, BIM, PGD-k) with a per-sample radius ε_i.
 *
 * ε_i > 0: ascend the chosen loss within the ε_i-ball (adversarial).
 * ε_i < 0: anti-adversarial — descend the cross-entropy of the true label within |ε_i|
 *          (PUMA, docs/METHOD.md §2: "the attack descends the loss for the true label").
 * ε_i = 0: the sample comes back unchanged.
 * Every iterate is projected on its own ball and on the pixel box [0, 1].
 */
import * as tf from '@tensorflow/tfjs';
import { attackLossPerSample, crossEntropyPerSample, type AttackLoss } from './losses';
import { checkImages, labelsToTensor, toLogitsFn, type ClassifierLike } from './model';
import { normalSamplerSeed } from '../random-seed';

const FILE = 'src-main/engine/attacks/pgd.ts';

export type RandomStart = 'none' | 'uniform' | 'normal';

export interface LinfAttackOptions {
  /** Radius: one number for all samples, or one signed radius per sample. */
  eps: number | ArrayLike<number> | tf.Tensor1D;
  /** Number of sign-gradient steps k (≥ 0). */
  steps: number;
  /** Absolute step size α (same for every sample). */
  stepSize?: number;
  /** Step size relative to each sample's radius: α_i = relativeStepSize·|ε_i|. Default 2.5/steps. */
  relativeStepSize?: number;
  /** Random start inside the ball: uniform in [−|ε_i|, |ε_i|], or N(0, randomStartStd²) (TRADES). */
  randomStart?: RandomStart;
  randomStartStd?: number;
  loss?: AttackLoss;
  /** Fixed natural probabilities for 'trades-kl'; default softmax(f(x)). */
  pNat?: tf.Tensor2D;
  seed?: number;
}

function radiusTensor(eps: LinfAttackOptions['eps'], n: number): tf.Tensor1D {
  if (typeof eps === 'number') {
    if (!Number.isFinite(eps)) throw new Error(`${FILE}: eps must be finite, got ${eps}`);
    return tf.fill([n], eps) as tf.Tensor1D;
  }
  if (eps instanceof tf.Tensor) {
    if (eps.rank !== 1 || eps.shape[0] !== n) {
      throw new Error(`${FILE}: eps tensor must have shape [${n}], got [${eps.shape.join(', ')}]`);
    }
    return eps.toFloat() as tf.Tensor1D;
  }
  if (eps.length !== n) throw new Error(`${FILE}: ${eps.length} radii for ${n} samples`);
  const values = Float32Array.from(eps);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(values[i]!)) throw new Error(`${FILE}: eps[${i}] = ${values[i]} is not finite`);
  }
  return tf.tensor1d(values);
}

/** Projection on the per-sample L∞ ball around x (radius [n,1,1,1]) and on [0, 1]. */
function project(xAdv: tf.Tensor4D, x: tf.Tensor4D, radius: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const inBall = tf.minimum(tf.maximum(xAdv, tf.sub(x, radius)), tf.add(x, radius));
    return tf.clipByValue(inBall, 0, 1) as tf.Tensor4D;
  });
}

/**
 * The general L∞ attack; FGSM and BIM are special cases. Returns a new tensor (caller disposes);
 * x and y are left untouched.
 */
export function linfAttack(model: ClassifierLike, x: tf.Tensor4D, y: tf.Tensor1D | ArrayLike<number>, options: LinfAttackOptions): tf.Tensor4D {
  checkImages(FILE, x);
  const f = toLogitsFn(model);
  const n = x.shape[0];
  const steps = options.steps;
  if (!Number.isInteger(steps) || steps < 0) throw new Error(`${FILE}: steps must be an integer ≥ 0, got ${steps}`);
  const loss = options.loss ?? 'ce';
  if (options.stepSize !== undefined && options.relativeStepSize !== undefined) {
    throw new Error(`${FILE}: give stepSize or relativeStepSize, not both`);
  }
  if (options.stepSize !== undefined && !(options.stepSize >= 0)) {
    throw new Error(`${FILE}: stepSize must be ≥ 0, got ${options.stepSize}`);
  }
  const randomStart = options.randomStart ?? 'none';
  const seed = options.seed;

  const labels = labelsToTensor(FILE, y, n);
  const eps = radiusTensor(options.eps, n);
  const state = tf.tidy(() => {
    const radius = tf.abs(eps).reshape([n, 1, 1, 1]) as tf.Tensor4D;
    const isAdversarial = tf.greater(eps, 0).toFloat() as tf.Tensor1D;
    const isAnti = tf.less(eps, 0).toFloat() as tf.Tensor1D;
    const step =
      options.stepSize !== undefined
        ? (tf.fill([n, 1, 1, 1], options.stepSize) as tf.Tensor4D)
        : (tf.mul(radius, options.relativeStepSize ?? 2.5 / Math.max(steps, 1)) as tf.Tensor4D);
    const pNat = loss === 'trades-kl' ? (options.pNat ? options.pNat.clone() : tf.softmax(f(x))) : undefined;
    return { radius, isAdversarial, isAnti, step, pNat };
  });

  let xAdv: tf.Tensor4D = tf.tidy(() => {
    if (randomStart === 'none') return x.clone();
    const noise =
      randomStart === 'uniform'
        ? tf.mul(tf.randomUniform(x.shape, -1, 1, 'float32', seed), state.radius)
        : tf.randomNormal(x.shape, 0, options.randomStartStd ?? 0.001, 'float32', normalSamplerSeed(seed));
    return project(tf.add(x, noise) as tf.Tensor4D, x, state.radius);
  });

  // Σ_i [adv_i·L_i − anti_i·CE_i]: samples are independent, so one gradient of the sum gives each
  // sample's own ascent (or, for anti samples, descent) direction.
  const objective = (xv: tf.Tensor): tf.Scalar => {
    const logits = f(xv as tf.Tensor4D);
    const adv = attackLossPerSample(loss, logits, labels, state.pNat);
    const adversarialPart = tf.sum(tf.mul(adv, state.isAdversarial));
    const antiCe = loss === 'ce' ? adv : crossEntropyPerSample(logits, labels);
    return tf.sub(adversarialPart, tf.sum(tf.mul(antiCe, state.isAnti))) as tf.Scalar;
  };
  const gradient = tf.grad(objective);

  for (let k = 0; k < steps; k++) {
    const next = tf.tidy(() => {
      const g = gradient(xAdv) as tf.Tensor4D;
      const moved = tf.add(xAdv, tf.mul(tf.sign(g), state.step)) as tf.Tensor4D;
      return project(moved, x, state.radius);
    });
    xAdv.dispose();
    xAdv = next;
  }

  labels.dispose();
  eps.dispose();
  tf.dispose([state.radius, state.isAdversarial, state.isAnti, state.step]);
  state.pNat?.dispose();
  return xAdv;
}

/** FGSM: one step of size |ε_i| (no random start). */
export function fgsmAttack(
  model: ClassifierLike,
  x: tf.Tensor4D,
  y: tf.Tensor1D | ArrayLike<number>,
  options: { eps: LinfAttackOptions['eps']; loss?: AttackLoss; pNat?: tf.Tensor2D },
): tf.Tensor4D {
  return linfAttack(model, x, y, { ...options, steps: 1, relativeStepSize: 1, randomStart: 'none' });
}

/** BIM (Kurakin et al.): k steps of size α from x itself (no random start). */
export function bimAttack(
  model: ClassifierLike,
  x: tf.Tensor4D,
  y: tf.Tensor1D | ArrayLike<number>,
  options: Omit<LinfAttackOptions, 'randomStart' | 'randomStartStd'>,
): tf.Tensor4D {
  return linfAttack(model, x, y, { ...options, randomStart: 'none' });
}

/** PGD-k (Madry et al.): k steps from a uniform random start in the ball (by default). */
export function pgdAttack(model: ClassifierLike, x: tf.Tensor4D, y: tf.Tensor1D | ArrayLike<number>, options: LinfAttackOptions): tf.Tensor4D {
  return linfAttack(model, x, y, { randomStart: 'uniform', ...options });
}
