/**
 * Per-sample attack losses (shape [n]), each one the quantity an adversary ascends:
 *  - 'ce':        cross-entropy CE(f(x'), y)
 *  - 'cw':        the Carlini–Wagner margin loss −clamp(z_y − max_{j≠y} z_j, min = 0)
 *                 (summed over the batch it is the paper's "C&W" objective)
 *  - 'trades-kl': KL(p_nat ‖ softmax f(x')) with p_nat fixed (TRADES inner maximisation)
 */
import * as tf from '@tensorflow/tfjs';

export type AttackLoss = 'ce' | 'cw' | 'trades-kl';

/** CE per sample from logits [n, C] and int32 labels [n]. */
export function crossEntropyPerSample(logits: tf.Tensor2D, y: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const oneHot = tf.oneHot(y, logits.shape[1]).toFloat();
    const trueLogit = tf.sum(tf.mul(logits, oneHot), 1);
    return tf.sub(tf.logSumExp(logits, 1), trueLogit) as tf.Tensor1D;
  });
}

/** z_y − max_{j≠y} z_j per sample (positive when correctly classified). */
export function logitMarginPerSample(logits: tf.Tensor2D, y: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const oneHot = tf.oneHot(y, logits.shape[1]).toFloat();
    const trueLogit = tf.sum(tf.mul(logits, oneHot), 1);
    // Push the true class far below every other logit so that max picks the best other class.
    const others = tf.sub(logits, tf.mul(oneHot, 1e9));
    return tf.sub(trueLogit, tf.max(others, 1)) as tf.Tensor1D;
  });
}

export function cwLossPerSample(logits: tf.Tensor2D, y: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => tf.neg(tf.relu(logitMarginPerSample(logits, y))) as tf.Tensor1D);
}

/** KL(p_nat ‖ softmax(logits)) per sample; p_nat rows are probabilities (treated as constants). */
export function tradesKlPerSample(logits: tf.Tensor2D, pNat: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const logQ = tf.logSoftmax(logits);
    const logP = tf.log(tf.maximum(pNat, 1e-12));
    return tf.sum(tf.mul(pNat, tf.sub(logP, logQ)), 1) as tf.Tensor1D;
  });
}

export function attackLossPerSample(loss: AttackLoss, logits: tf.Tensor2D, y: tf.Tensor1D, pNat?: tf.Tensor2D): tf.Tensor1D {
  switch (loss) {
    case 'ce':
      return crossEntropyPerSample(logits, y);
    case 'cw':
      return cwLossPerSample(logits, y);
    case 'trades-kl':
      if (!pNat) throw new Error('src-main/engine/attacks/losses.ts: the trades-kl loss needs pNat');
      return tradesKlPerSample(logits, pNat);
    default:
      throw new Error(`src-main/engine/attacks/losses.ts: unknown attack loss '${String(loss)}'`);
  }
}
