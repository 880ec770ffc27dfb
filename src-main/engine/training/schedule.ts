/**
 * Learning-rate schedules, evaluated per batch (global step t of T).
 *  - onecycle: linear warm-up from lr/25 to lr over the first `warmupShare`·T steps, then cosine
 *    annealing to ~0 (PyTorch's OneCycleLR with anneal 'cos', div_factor 25, as in the recipe).
 *  - step: lr·γ^k where k = number of milestones (fractions of T) already passed.
 *  - constant.
 */
export type ScheduleKind = 'onecycle' | 'step' | 'constant';

export interface ScheduleOptions {
  kind: ScheduleKind;
  lr: number;
  totalSteps: number;
  warmupShare?: number;
  milestones?: number[];
  gamma?: number;
}

const FILE = 'src-main/engine/training/schedule.ts';

export function learningRateAt(step: number, o: ScheduleOptions): number {
  if (!(o.totalSteps >= 1)) throw new Error(`${FILE}: totalSteps must be ≥ 1, got ${o.totalSteps}`);
  if (!(step >= 0)) throw new Error(`${FILE}: step must be ≥ 0, got ${step}`);
  const t = Math.min(step, o.totalSteps - 1);
  switch (o.kind) {
    case 'constant':
      return o.lr;
    case 'step': {
      const frac = t / o.totalSteps;
      const passed = (o.milestones ?? []).filter((m) => frac >= m).length;
      return o.lr * Math.pow(o.gamma ?? 0.1, passed);
    }
    case 'onecycle': {
      const start = o.lr / 25;
      const end = start / 1e4;
      const warm = Math.floor((o.warmupShare ?? 0.025) * o.totalSteps);
      if (t < warm) return start + ((o.lr - start) * t) / warm;
      const span = Math.max(1, o.totalSteps - 1 - warm);
      const p = Math.min(1, (t - warm) / span);
      return end + ((o.lr - end) * (1 + Math.cos(Math.PI * p))) / 2;
    }
    default:
      throw new Error(`${FILE}: unknown schedule '${String(o.kind)}'`);
  }
}
