/** A 31-bit seed for (run seed, stream, step); distinct streams never share seeds. */
export function mixSeed(seed: number, stream: number, step: number): number {
  let h = (seed * 0x9e3779b1) ^ (stream * 0x85ebca6b) ^ (step * 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return ((h ^ (h >>> 16)) >>> 1) % 2147483647;
}

/** The seed streams of a run: the training attack's random start, the evaluation, online PUMA's search. */
export const SEED_STREAMS = { attack: 1, evaluation: 2, online: 3 } as const;
