/**
 * The perceptron study of the paper (§2, Figs. 1–4; docs/METHOD.md §5): pure maths, no Node imports.
 *
 * Teacher θ_t = e₁ in K dimensions, inputs x ~ N(0, I_K), labels y = sign(x₁). The true L∞
 * margin of a sample is |θ_t·x| / ‖θ_t‖₁ = |x₁|. A linear student θ_s is adversarially trained
 * with FGSM examples of radius ε against the *current* student and a logistic loss.
 *
 * FGSM closed form. With L(u) = log(1 + e^{−u}) and u = y θ·x, ∇ₓL = L'(u)·y·θ with L' < 0, so
 * sign(∇ₓL) = −y·sign(θ) and x' = x − ε·y·sign(θ). Hence
 *     y θ·x' = y θ·x − ε·y²·θ·sign(θ) = y θ·x − ε‖θ‖₁.
 * The adversarial logistic loss is therefore F(θ) = mean_i softplus(ε‖θ‖₁ − y_i θ·x_i), and
 * its (sub)gradient is exactly the gradient of the loss on the fixed FGSM points x'_i (Danskin),
 * i.e. training on that closed form IS training on FGSM examples recomputed at every step.
 * F is convex (softplus is convex increasing, its argument is convex).
 *
 * Optimiser (full batch). We minimise log F, whose gradient is ∇F / F: gradient descent on it
 * is the loss-normalised GD that, on separable data, drives ‖θ‖ up linearly in the number of
 * steps, so the direction θ/‖θ‖ approaches the (robust) max-margin direction quickly — plain GD
 * on F only gets there at a 1/log(t) rate, and quasi-Newton methods on log F run off to
 * infinity along a frozen direction. Steps use Armijo backtracking (halve on failure, grow
 * ×1.5 after success), so no learning rate has to be tuned. The kink of ‖θ‖₁ at θ_j = 0 is
 * handled orthant-wise (as in OWL-QN): the minimum-norm subgradient is used for coordinates at
 * zero, and a step never lets a coordinate cross zero (it stops at zero instead).
 * Working in the log domain also keeps F from underflowing once the data are fitted.
 *
 * Convergence: the student's DIRECTION is what is measured (R only depends on θ/‖θ‖), and at
 * ε = 0 the data are separable, so the loss's minimiser is at infinity and only the direction
 * converges (to the max-margin one). We stop when the direction moves by less than `tol`
 * (Euclidean distance between unit vectors, ≈ angle in radians) per step, averaged over a
 * window of CHECK_WINDOW steps; `maxSteps` is the budget.
 */
import type { PerceptronConfig, PerceptronPoint, PerceptronStrategy } from '../domain/perceptron';
import { SeededRandom } from './random';

const FILE = 'src-shared/method/perceptron.ts';

export interface PerceptronTask {
  alpha: number;
  strategy: PerceptronStrategy;
  ratio: number;
  seed: number;
}

export interface PerceptronTaskResult {
  /** arccos(R)/π with R the teacher–student correlation. */
  error: number;
  one_minus_r: number;
  /** Optimiser steps taken (accepted gradient steps). */
  steps: number;
  converged: boolean;
  /** Samples the student was trained on (after pruning and the optional ε filter). */
  n_train: number;
}

/** Steps over which the direction change is averaged for the convergence test. */
const CHECK_WINDOW = 20;
/** Armijo sufficient-decrease constant. */
const ARMIJO = 1e-4;
const STEP_GROWTH = 1.5;
const MIN_STEP = 1e-14;

/**
 * The task list: one task per (alpha, strategy, ratio, seed). Strategy 'none' is emitted once
 * per alpha with ratio 0 (pruning ratios do not apply to it); PE and PD at ratio 0 are the same
 * as 'none', so they only get tasks for ratios > 0. Ratios are deduplicated.
 */
export function perceptronTasks(config: PerceptronConfig): PerceptronTask[] {
  validateConfig(config);
  const ratios = [...new Set(config.ratios)].filter((r) => r > 0);
  const strategies = [...new Set(config.strategies)];
  const tasks: PerceptronTask[] = [];
  for (const alpha of [...new Set(config.alphas)]) {
    for (const strategy of strategies) {
      const taskRatios = strategy === 'none' ? [0] : ratios;
      for (const ratio of taskRatios) {
        for (let seed = 0; seed < config.seeds; seed++) tasks.push({ alpha, strategy, ratio, seed });
      }
    }
  }
  return tasks;
}

/** Generate, prune, (filter,) train and measure one student. Deterministic for a task. */
export function runPerceptronTask(config: PerceptronConfig, task: PerceptronTask): PerceptronTaskResult {
  validateConfig(config);
  const data = buildTrainingSet(config, task);
  const training = trainStudent(data.rows, data.n, config.k, config.eps, config.maxSteps, config.tol);
  const r = teacherCorrelation(training.theta);
  return {
    error: correlationError(r),
    one_minus_r: 1 - r,
    steps: training.steps,
    converged: training.converged,
    n_train: data.n,
  };
}

/**
 * Mean and std over seeds per (alpha, strategy, ratio), in task order of first appearance.
 * The std is the SAMPLE standard deviation (n − 1 denominator; 0 for a single seed).
 */
export function aggregatePerceptron(config: PerceptronConfig, results: Array<{ task: PerceptronTask; result: PerceptronTaskResult }>): PerceptronPoint[] {
  const groups = new Map<string, { task: PerceptronTask; results: PerceptronTaskResult[] }>();
  for (const { task, result } of results) {
    const key = `${task.alpha}|${task.strategy}|${task.ratio}`;
    let group = groups.get(key);
    if (!group) {
      group = { task, results: [] };
      groups.set(key, group);
    }
    group.results.push(result);
  }
  const points: PerceptronPoint[] = [];
  for (const { task, results: rs } of groups.values()) {
    const errors = rs.map((r) => r.error);
    const oneMinusR = rs.map((r) => r.one_minus_r);
    points.push({
      alpha: task.alpha,
      strategy: task.strategy,
      ratio: task.ratio,
      eps: config.eps,
      filter: config.filterBelowEps,
      error_mean: mean(errors),
      error_std: sampleStd(errors),
      one_minus_r_mean: mean(oneMinusR),
      one_minus_r_std: sampleStd(oneMinusR),
      steps_mean: mean(rs.map((r) => r.steps)),
      converged_fraction: mean(rs.map((r) => (r.converged ? 1 : 0))),
      n_train_mean: mean(rs.map((r) => r.n_train)),
    });
  }
  return points;
}

/** Run every task sequentially and aggregate. `onProgress(done, total)` after each task. */
export function runPerceptronStudy(config: PerceptronConfig, onProgress?: (done: number, total: number) => void): PerceptronPoint[] {
  const tasks = perceptronTasks(config);
  const results: Array<{ task: PerceptronTask; result: PerceptronTaskResult }> = [];
  for (const task of tasks) {
    results.push({ task, result: runPerceptronTask(config, task) });
    onProgress?.(results.length, tasks.length);
  }
  return aggregatePerceptron(config, results);
}

// ---------------------------------------------------------------------------------------------
// Data

export interface PerceptronTrainingSet {
  /** n rows of length K, row i = y_i·x_i (label folded in: the loss only needs y θ·x). */
  rows: Float64Array;
  n: number;
  /** Raw inputs and labels, same order as rows. */
  inputs: Float64Array;
  labels: Int8Array;
}

/** Samples kept for a task: n_kept = round(α·K); PE/PD draw round(n_kept/(1−r)) and prune by |x₁|. */
export function buildTrainingSet(config: PerceptronConfig, task: PerceptronTask): PerceptronTrainingSet {
  const k = config.k;
  const nKept = Math.round(task.alpha * k);
  if (nKept < 1) throw new Error(`${FILE}: alpha ${task.alpha} × K ${k} rounds to 0 training samples`);
  if (!(task.ratio >= 0 && task.ratio < 1)) throw new Error(`${FILE}: pruning ratio must be in [0, 1), got ${task.ratio}`);
  const pruned = task.strategy !== 'none' && task.ratio > 0;
  const nDrawn = pruned ? Math.round(nKept / (1 - task.ratio)) : nKept;
  // Seed mixes the task's seed with its α and strategy so tasks are independent draws, while
  // PE and PD at the same (α, ratio, seed) see the same pool (a paired comparison).
  const rng = new SeededRandom(taskSeed(task));
  const pool = new Float64Array(nDrawn * k);
  rng.fillNormal(pool);

  let order = Array.from({ length: nDrawn }, (_, i) => i);
  if (pruned) {
    const margin = (i: number) => Math.abs(pool[i * k]);
    // PE removes the highest margins (keeps the lowest), PD removes the lowest (keeps the highest).
    order.sort(task.strategy === 'pe' ? (a, b) => margin(a) - margin(b) : (a, b) => margin(b) - margin(a));
    order = order.slice(0, nKept);
    order.sort((a, b) => a - b); // back to draw order: training does not depend on the sort
  }
  if (config.filterBelowEps) order = order.filter((i) => Math.abs(pool[i * k]) >= config.eps);

  const n = order.length;
  const rows = new Float64Array(n * k);
  const inputs = new Float64Array(n * k);
  const labels = new Int8Array(n);
  for (let r = 0; r < n; r++) {
    const src = order[r] * k;
    const y = pool[src] >= 0 ? 1 : -1;
    labels[r] = y;
    for (let j = 0; j < k; j++) {
      inputs[r * k + j] = pool[src + j];
      rows[r * k + j] = y * pool[src + j];
    }
  }
  return { rows, n, inputs, labels };
}

function taskSeed(task: PerceptronTask): number {
  // A stable hash of (seed, alpha, ratio) in 32-bit integer arithmetic (strategy left out on purpose).
  let h = 0x811c9dc5 ^ task.seed;
  h = Math.imul(h ^ Math.round(task.alpha * 1e6), 0x01000193) >>> 0;
  h = Math.imul(h ^ Math.round(task.ratio * 1e6), 0x01000193) >>> 0;
  h = Math.imul(h ^ (task.seed * 0x9e3779b1), 0x01000193) >>> 0;
  return h;
}

// ---------------------------------------------------------------------------------------------
// Student training

export interface StudentTraining {
  theta: Float64Array;
  steps: number;
  converged: boolean;
  /** log of the final adversarial logistic loss. */
  logLoss: number;
}

/**
 * Minimise log F(θ), F(θ) = mean_i softplus(ε‖θ‖₁ − rows_i·θ), from θ = 0 (see the file header).
 * `rows` holds y_i·x_i. Returns θ (its norm is meaningless on separable data; its direction is
 * the answer).
 */
export function trainStudent(rows: Float64Array, n: number, k: number, eps: number, maxSteps: number, tol: number): StudentTraining {
  const theta = new Float64Array(k);
  if (n === 0) return { theta, steps: 0, converged: true, logLoss: Math.log(Math.LN2) };
  const candidate = new Float64Array(k);
  const pseudoGrad = new Float64Array(k);
  const z = new Float64Array(n);
  const zCandidate = new Float64Array(n);
  const snapshot = new Float64Array(k);
  let snapshotStep = -1;

  let logLoss = logAdversarialLoss(rows, n, k, eps, theta, z);
  let step = 1;
  let steps = 0;
  let converged = false;
  while (steps < maxSteps) {
    const gradNormSq = normalisedPseudoGradient(rows, n, k, eps, theta, z, logLoss, pseudoGrad);
    if (gradNormSq === 0) {
      converged = true; // exact stationary point (e.g. a degenerate data set)
      break;
    }
    // Backtracking line search on log F along −pseudoGrad, projected orthant-wise.
    let accepted = false;
    let candidateLoss = logLoss;
    while (step >= MIN_STEP) {
      let decrease = 0; // pseudoGrad · (θ − candidate)
      for (let j = 0; j < k; j++) {
        const t = theta[j];
        let c = t - step * pseudoGrad[j];
        if ((t > 0 && c < 0) || (t < 0 && c > 0)) c = 0; // never cross a kink of ‖θ‖₁
        candidate[j] = c;
        decrease += pseudoGrad[j] * (t - c);
      }
      candidateLoss = logAdversarialLoss(rows, n, k, eps, candidate, zCandidate);
      if (candidateLoss <= logLoss - ARMIJO * decrease) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    if (!accepted) {
      converged = true; // no descent possible at float64 resolution: as converged as it gets
      break;
    }
    theta.set(candidate);
    z.set(zCandidate);
    logLoss = candidateLoss;
    step *= STEP_GROWTH;
    steps++;

    if (steps % CHECK_WINDOW === 0) {
      const norm = Math.sqrt(dotSelf(theta));
      if (snapshotStep >= 0 && norm > 0) {
        let moved = 0;
        for (let j = 0; j < k; j++) {
          const d = theta[j] / norm - snapshot[j];
          moved += d * d;
        }
        if (Math.sqrt(moved) / (steps - snapshotStep) < tol) {
          converged = true;
          break;
        }
      }
      if (norm > 0) {
        for (let j = 0; j < k; j++) snapshot[j] = theta[j] / norm;
        snapshotStep = steps;
      }
    }
  }
  return { theta, steps, converged, logLoss };
}

/** log F(θ); writes the robust margins z_i = rows_i·θ − ε‖θ‖₁ into `z`. */
export function logAdversarialLoss(rows: Float64Array, n: number, k: number, eps: number, theta: Float64Array, z: Float64Array): number {
  let l1 = 0;
  for (let j = 0; j < k; j++) l1 += Math.abs(theta[j]);
  const shift = eps * l1;
  let minZ = Infinity;
  for (let i = 0; i < n; i++) {
    const zi = rowDot(rows, i * k, theta, k) - shift;
    z[i] = zi;
    if (zi < minZ) minZ = zi;
  }
  // softplus(−z) decreases in z: the largest term (for a stable log-sum-exp) has the smallest z.
  const maxLog = logSoftplusNeg(minZ);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const zi = z[i];
    // For z > 30, softplus(−z) = e^{−z} to double precision: one exp instead of three calls.
    sum += zi > 30 ? Math.exp(-zi - maxLog) : Math.exp(logSoftplusNeg(zi) - maxLog);
  }
  return maxLog + Math.log(sum / n);
}

/**
 * ∇ log F = ∇F / F with the orthant-wise minimum-norm subgradient of ε‖θ‖₁ at θ_j = 0.
 * Per-sample weights σ(−z_i) / (n F) are computed in the log domain. Returns ‖pseudoGrad‖².
 */
function normalisedPseudoGradient(
  rows: Float64Array,
  n: number,
  k: number,
  eps: number,
  theta: Float64Array,
  z: Float64Array,
  logLoss: number,
  out: Float64Array,
): number {
  out.fill(0);
  const logNorm = Math.log(n) + logLoss;
  let weightSum = 0;
  for (let i = 0; i < n; i++) {
    const w = Math.exp(logSigmoidNeg(z[i]) - logNorm);
    if (w === 0) continue;
    weightSum += w;
    const o = i * k;
    let j = 0;
    for (; j + 3 < k; j += 4) {
      out[j] -= w * rows[o + j];
      out[j + 1] -= w * rows[o + j + 1];
      out[j + 2] -= w * rows[o + j + 2];
      out[j + 3] -= w * rows[o + j + 3];
    }
    for (; j < k; j++) out[j] -= w * rows[o + j];
  }
  // d/dθ_j of ε‖θ‖₁ inside the softplus, weighted: ε·weightSum·sign(θ_j).
  const l1Weight = eps * weightSum;
  let normSq = 0;
  for (let j = 0; j < k; j++) {
    let g = out[j];
    if (theta[j] > 0) g += l1Weight;
    else if (theta[j] < 0) g -= l1Weight;
    else if (g > l1Weight)
      g -= l1Weight; // subdifferential at 0 is [g − εc, g + εc]
    else if (g < -l1Weight) g += l1Weight;
    else g = 0;
    out[j] = g;
    normSq += g * g;
  }
  return normSq;
}

/** log(softplus(−z)) = log(log(1 + e^{−z})), stable for all z. */
function logSoftplusNeg(z: number): number {
  if (z > 30) return -z + Math.log1p(-0.5 * Math.exp(-z)); // log1p(e^{−z}) ≈ e^{−z}(1 − e^{−z}/2)
  if (z < -30) return Math.log(-z + Math.exp(z)); // log1p(e^{−z}) = −z + log1p(e^{z})
  return Math.log(Math.log1p(Math.exp(-z)));
}

/** log σ(−z) = −softplus(z), stable. */
function logSigmoidNeg(z: number): number {
  return z > 0 ? -z - Math.log1p(Math.exp(-z)) : -Math.log1p(Math.exp(z));
}

// ---------------------------------------------------------------------------------------------
// Metrics

/** R = θ_t·θ_s / (‖θ_t‖‖θ_s‖) with θ_t = e₁; 0 for a zero student (no information). */
export function teacherCorrelation(theta: Float64Array): number {
  const norm = Math.sqrt(dotSelf(theta));
  if (norm === 0) return 0;
  return Math.max(-1, Math.min(1, theta[0] / norm));
}

/** The generalisation error of a linear student with correlation R: arccos(R)/π. */
export function correlationError(r: number): number {
  return Math.acos(Math.max(-1, Math.min(1, r))) / Math.PI;
}

/** rows[offset .. offset+k) · theta, unrolled with four accumulators (the hot loop). */
function rowDot(rows: Float64Array, offset: number, theta: Float64Array, k: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  for (; j + 3 < k; j += 4) {
    s0 += rows[offset + j] * theta[j];
    s1 += rows[offset + j + 1] * theta[j + 1];
    s2 += rows[offset + j + 2] * theta[j + 2];
    s3 += rows[offset + j + 3] * theta[j + 3];
  }
  for (; j < k; j++) s0 += rows[offset + j] * theta[j];
  return s0 + s1 + s2 + s3;
}

function dotSelf(v: Float64Array): number {
  let s = 0;
  for (let j = 0; j < v.length; j++) s += v[j] * v[j];
  return s;
}

function mean(values: number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return values.length ? s / values.length : NaN;
}

function sampleStd(values: number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  let s = 0;
  for (const v of values) s += (v - m) * (v - m);
  return Math.sqrt(s / (values.length - 1));
}

function validateConfig(config: PerceptronConfig): void {
  if (!Number.isInteger(config.k) || config.k < 2) throw new Error(`${FILE}: k must be an integer ≥ 2, got ${config.k}`);
  if (!(config.eps >= 0)) throw new Error(`${FILE}: eps must be ≥ 0, got ${config.eps}`);
  if (!Number.isInteger(config.maxSteps) || config.maxSteps < 1) {
    throw new Error(`${FILE}: maxSteps must be a positive integer, got ${config.maxSteps}`);
  }
  if (!(config.tol > 0)) throw new Error(`${FILE}: tol must be > 0, got ${config.tol}`);
  if (!Number.isInteger(config.seeds) || config.seeds < 1) throw new Error(`${FILE}: seeds must be a positive integer, got ${config.seeds}`);
  for (const a of config.alphas) if (!(a > 0)) throw new Error(`${FILE}: every alpha must be > 0, got ${a}`);
  for (const r of config.ratios) if (!(r >= 0 && r < 1)) throw new Error(`${FILE}: every ratio must be in [0, 1), got ${r}`);
}
