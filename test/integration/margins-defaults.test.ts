/**
 * The default margin-job parameters (what `puma margins --method fast` and the Margins page use)
 * meet the fast margin's acceptance criteria against DeepFool on a small trained net: within 20 %
 * for ≥ 90 % of samples, rank correlation ≥ 0.9. The defaults were chosen for speed
 * (bench/margins-fast-params.ts); this keeps them honest.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { MarginParams } from '../../src-shared/domain/margins';
import { computeDeepFoolMargins, computeFastMargins } from '../../src-main/engine/margins';
import { estimatorSpec } from '../../src-main/services/margins';
import { clusteredImages, spearman, trainTinyMlp, useCpuBackend } from '../unit/attacks/helpers';

const SHAPE: [number, number, number] = [8, 8, 1];
const CLASSES = 4;
const TRAIN = 600;
const TEST = 200;

describe('default margin parameters', () => {
  it('the default fast margin agrees with the default DeepFool L∞ margin', async () => {
    await useCpuBackend();
    const data = clusteredImages(TRAIN + TEST, CLASSES, SHAPE, 0.6, 'margins-defaults');
    const model = await trainTinyMlp({ x: data.x.slice(0, TRAIN * 64), y: data.y.slice(0, TRAIN) }, SHAPE, CLASSES, 20);
    const x = tf.tensor4d(data.x.slice(TRAIN * 64), [TEST, ...SHAPE]);
    const y = data.y.slice(TRAIN);
    const defaults = MarginParams.parse({});
    const fastSpec = estimatorSpec('fast', defaults);
    const deepfoolSpec = estimatorSpec('deepfool', defaults);
    if (fastSpec.method !== 'fast' || deepfoolSpec.method !== 'deepfool') throw new Error('unexpected estimator specs');
    const fast = computeFastMargins(model, x, y, fastSpec.params);
    const deepfool = computeDeepFoolMargins(model, x, y, deepfoolSpec.params);
    let within = 0;
    for (let i = 0; i < TEST; i++) if (Math.abs(fast.margins[i]! - deepfool.margins[i]!) <= 0.2 * Math.abs(deepfool.margins[i]!)) within++;
    expect(within / TEST).toBeGreaterThanOrEqual(0.9);
    expect(spearman(fast.margins, deepfool.margins)).toBeGreaterThanOrEqual(0.9);
    // Both signs present, and every sample flipped within the default budget.
    expect(fast.margins.some((m) => m < 0) && fast.margins.some((m) => m > 0)).toBe(true);
    expect(fast.converged.every((c) => c === 1)).toBe(true);
    x.dispose();
    model.dispose();
  });
});
