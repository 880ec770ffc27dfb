import { createHash } from 'node:crypto';
import type { MarginMethod, MarginParams } from '../../../src-shared/domain/margins';
import type { MarginMethodSpec } from '../../engine/margins';

/** The parameters that change the result of `method` (the identity of a margin set). */
export function identityParams(method: MarginMethod, p: MarginParams): Record<string, number | string> {
  return method === 'deepfool'
    ? { norm: p.norm, overshoot: p.overshoot, maxIter: p.maxIter, candidates: p.candidates }
    : { norm: p.norm, stepSize: p.stepSize, iMax: p.iMax, jMax: p.jMax };
}

export function marginSetKey(
  part: { datasetId: number; datasetHash: string; split: string; modelId: number; modelHash: string },
  method: MarginMethod,
  p: MarginParams,
): string {
  const canonical = JSON.stringify({ ...part, method, params: identityParams(method, p) });
  return createHash('sha256').update(canonical).digest('hex');
}

export function estimatorSpec(method: MarginMethod, p: MarginParams): MarginMethodSpec {
  if (method === 'deepfool') {
    return { method: 'deepfool', params: { norm: p.norm, overshoot: p.overshoot, maxIter: p.maxIter, candidates: p.candidates } };
  }
  if (p.norm !== 'linf') throw new Error(`src-main/services/margins/key.ts: the fast margin is an L∞ margin; norm '${p.norm}' is not supported`);
  return { method: 'fast', params: { stepSize: p.stepSize, iMax: p.iMax, jMax: p.jMax } };
}
