import { z } from 'zod';

/** Pruning strategies of the perceptron study (paper §2): by the true margin |x₁|. */
export const PerceptronStrategy = z.enum(['none', 'pe', 'pd']);
export type PerceptronStrategy = z.infer<typeof PerceptronStrategy>;

export const PerceptronConfig = z
  .object({
    /** Input dimension K; teacher θ_t = e₁. */
    k: z.number().int().min(2).max(5000).default(200),
    /** FGSM radius used when training the student. */
    eps: z.number().min(0).max(10).default(0),
    /** α = n_kept / K values. */
    alphas: z.array(z.number().positive().max(1000)).min(1).max(64).default([0.5, 1, 2, 4, 8]),
    /** Pruning ratios r in [0, 1). */
    ratios: z.array(z.number().min(0).lt(1)).min(1).max(32).default([0, 0.5, 0.8]),
    strategies: z
      .array(PerceptronStrategy)
      .min(1)
      .default([...PerceptronStrategy.options]),
    /** Number of seeds (0..seeds-1); mean ± std are over these. */
    seeds: z.number().int().min(1).max(100).default(3),
    /** Drop every kept sample whose margin is below ε (the paper's fix for PE at ε > 0). */
    filterBelowEps: z.boolean().default(false),
    /** Optimiser budget: most full-batch steps per student. */
    maxSteps: z.number().int().min(1).max(1_000_000).default(10_000),
    /**
     * Convergence: stop when the student's direction θ/‖θ‖ moves less than this per step
     * (averaged over 20 steps). At 1e-4 the error is within ~1e-3 of its limit in the K = 200
     * study (measured); smaller values cost many more steps for little change.
     */
    tol: z.number().positive().max(1).default(1e-4),
  })
  .strict();
export type PerceptronConfig = z.infer<typeof PerceptronConfig>;
export type PerceptronConfigInput = z.input<typeof PerceptronConfig>;

/** One point of the study's figure, aggregated over seeds. Field names are part of the CLI's JSON. */
export interface PerceptronPoint {
  alpha: number;
  strategy: PerceptronStrategy;
  ratio: number;
  eps: number;
  filter: boolean;
  error_mean: number;
  error_std: number;
  one_minus_r_mean: number;
  one_minus_r_std: number;
  /** Mean optimiser steps used, and the share of seeds that met the convergence criterion. */
  steps_mean: number;
  converged_fraction: number;
  /** Samples actually trained on (after pruning and the optional filter), mean over seeds. */
  n_train_mean: number;
}
