// tfjs's normal-distribution samplers (randomNormal, truncatedNormal and so the He/Glorot
// initialisers) treat a seed of 0 as "no seed" and draw from Math.random: the default run seed 0
// made the first layer of every seeded model differ between runs. Uniform samplers accept 0.

/** A seed for tfjs's normal samplers: the same seed, except 0, which becomes -1 (never a run seed). */
export function normalSamplerSeed(seed: number): number;
export function normalSamplerSeed(seed: number | undefined): number | undefined;
export function normalSamplerSeed(seed: number | undefined): number | undefined {
  return seed === 0 ? -1 : seed;
}
