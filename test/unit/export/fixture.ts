import type { RunRow } from '../../../src-shared/method/table';

/**
 * Runs shaped like the paper's Table 1 (last-epoch values, fractions). Chosen so that means and
 * stds are easy to check by hand:
 * - none:   clean .8777 .8787 .8797 → 87.87 ± 0.10; cw .5849 .5857 .5865 → 58.57 ± 0.08
 * - puma:   clean .9056 .9065 .9074 → 90.65 ± 0.09 (best); cw .5840 .5842 .5844 → 58.42 ± 0.02
 * - pe_22%: clean .8877 .8897 → 88.87 ± 0.14 (std 0.001·√2); cw only in one run: .5857 → "58.57 (n=1)",
 *           a tie with "none" for the best cw (both bold); the name needs LaTeX escaping
 * - random: clean .8764 (one run: no std, printed without "±"); no cw at all → "–"
 * - pruned: the share each run removed, as a train run's result records it: none 0, the others 22 %
 */
export const paperRows: RunRow[] = [
  { run_id: 1, status: 'finished', config: { strategy: 'none', prune_ratio: 0, seed: 0 }, pruned: 0, metrics: { clean_acc: 0.8777, robust_acc_cw: 0.5849 } },
  {
    run_id: 2,
    status: 'finished',
    config: { strategy: 'puma', prune_ratio: 0.22, seed: 0 },
    pruned: 0.22,
    metrics: { clean_acc: 0.9056, robust_acc_cw: 0.584 },
  },
  { run_id: 3, status: 'finished', config: { strategy: 'none', prune_ratio: 0, seed: 1 }, pruned: 0, metrics: { clean_acc: 0.8787, robust_acc_cw: 0.5857 } },
  {
    run_id: 4,
    status: 'finished',
    config: { strategy: 'puma', prune_ratio: 0.22, seed: 1 },
    pruned: 0.22,
    metrics: { clean_acc: 0.9065, robust_acc_cw: 0.5842 },
  },
  { run_id: 5, status: 'finished', config: { strategy: 'none', prune_ratio: 0, seed: 2 }, pruned: 0, metrics: { clean_acc: 0.8797, robust_acc_cw: 0.5865 } },
  {
    run_id: 6,
    status: 'finished',
    config: { strategy: 'puma', prune_ratio: 0.22, seed: 2 },
    pruned: 0.22,
    metrics: { clean_acc: 0.9074, robust_acc_cw: 0.5844 },
  },
  {
    run_id: 7,
    status: 'finished',
    config: { strategy: 'pe_22%', prune_ratio: 0.22, seed: 0 },
    pruned: 0.22,
    metrics: { clean_acc: 0.8877, robust_acc_cw: 0.5857 },
  },
  { run_id: 8, status: 'finished', config: { strategy: 'pe_22%', prune_ratio: 0.22, seed: 1 }, pruned: 0.22, metrics: { clean_acc: 0.8897 } },
  { run_id: 9, status: 'finished', config: { strategy: 'random', prune_ratio: 0.22, seed: 0 }, pruned: 0.22, metrics: { clean_acc: 0.8764 } },
];
