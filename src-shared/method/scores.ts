/**
 * Baseline per-sample scores that compete with the margin (docs/METHOD.md §1.3–1.4):
 * classification difficulty (CD), EL2N and seeded random scores. Pure functions.
 */
import seedrandom from 'seedrandom';

const FILE = 'src-shared/method/scores.ts';

/**
 * CD_i = (1/T) Σ_t 1[p_t(x_i) ≠ y_i] (Dong et al. 2021).
 * `correctByEpoch[t][i]` is truthy when sample i was classified correctly at epoch t.
 */
export function classificationDifficulty(correctByEpoch: ArrayLike<number | boolean>[]): Float32Array {
  const epochs = correctByEpoch.length;
  if (epochs === 0) throw new Error(`${FILE}: classificationDifficulty: no epochs recorded`);
  const n = correctByEpoch[0]!.length;
  const wrongCounts = new Float64Array(n);
  for (let t = 0; t < epochs; t++) {
    const row = correctByEpoch[t]!;
    if (row.length !== n) {
      throw new Error(`${FILE}: classificationDifficulty: epoch ${t} has ${row.length} samples, epoch 0 has ${n}`);
    }
    for (let i = 0; i < n; i++) if (!row[i]) wrongCounts[i]! += 1;
  }
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = wrongCounts[i]! / epochs;
  return out;
}

/**
 * EL2N_i = mean over ensemble members of ‖softmax(z_i) − onehot(y_i)‖₂ (Paul et al. 2021).
 * `logitsPerModel[m]` is a row-major [n, numClasses] array of logits of ensemble member m.
 */
export function el2nScores(logitsPerModel: ArrayLike<number>[], labels: ArrayLike<number>, numClasses: number): Float32Array {
  if (logitsPerModel.length === 0) throw new Error(`${FILE}: el2nScores: empty ensemble`);
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new Error(`${FILE}: el2nScores: numClasses must be an integer ≥ 2, got ${numClasses}`);
  }
  const n = labels.length;
  const sums = new Float64Array(n);
  const probs = new Float64Array(numClasses);
  logitsPerModel.forEach((logits, m) => {
    if (logits.length !== n * numClasses) {
      throw new Error(`${FILE}: el2nScores: model ${m} has ${logits.length} logits, expected ${n}×${numClasses}`);
    }
    for (let i = 0; i < n; i++) {
      const y = labels[i]!;
      if (!Number.isInteger(y) || y < 0 || y >= numClasses) {
        throw new Error(`${FILE}: el2nScores: label ${i} = ${y} is outside [0, ${numClasses})`);
      }
      const base = i * numClasses;
      let max = -Infinity;
      for (let k = 0; k < numClasses; k++) max = Math.max(max, logits[base + k]!);
      let z = 0;
      for (let k = 0; k < numClasses; k++) {
        probs[k] = Math.exp(logits[base + k]! - max);
        z += probs[k]!;
      }
      let sq = 0;
      for (let k = 0; k < numClasses; k++) {
        const d = probs[k]! / z - (k === y ? 1 : 0);
        sq += d * d;
      }
      sums[i]! += Math.sqrt(sq);
    }
  });
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = sums[i]! / logitsPerModel.length;
  return out;
}

/** Seeded uniform [0, 1) scores: the same seed always gives the same scores. */
export function randomScores(count: number, seed: string | number): Float32Array {
  if (!Number.isInteger(count) || count < 0) {
    throw new Error(`${FILE}: randomScores: count must be an integer ≥ 0, got ${count}`);
  }
  const rng = seedrandom(String(seed));
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = rng();
  return out;
}
