/**
 * The paper's experiments as templates: each is a set of train-config overrides, the arms and
 * grid that vary (computed from the resolved base config, so radii follow the dataset's ε), the
 * seeds, and the export grouping that makes the paper's table. `puma sweep --template NAME`
 * and `puma templates list` use them. Pure: no Node imports.
 */
import { parseTrainConfig, type TrainConfig } from '../domain/training';
import { applySetArgs, expandArms } from './sweep';

/** The varying part of a template's runs: arms (keys set together) × a cartesian grid. */
export interface TemplateVariation {
  /** Each arm is one set of keys applied together (PE+PD sets two ratios); [{}] = one arm. */
  arms: Array<Record<string, unknown>>;
  grid: Record<string, unknown[]>;
}

export interface ExperimentTemplate {
  name: string;
  title: string;
  description: string;
  /** Config keys every run of the template sets, on top of the preset (before --set). */
  base: Record<string, unknown>;
  vary(base: TrainConfig): TemplateVariation;
  /** The config keys `puma export --group-by` needs for the paper's table (seeds are averaged). */
  groupBy: string[];
}

export const DEFAULT_TEMPLATE_SEEDS = 3;

/** The paper states its radii for CIFAR-10's ε = 8/255; a dataset with another ε scales them. */
const PAPER_EPS = 8 / 255;
// 12 significant digits: 4/255 scaled to ε = 0.1 is 0.05, not 0.05000000000000001, in names and tables.
const scaledRadii = (eps: number, numerators: number[]): number[] => numerators.map((n) => Number(((n * eps) / 255 / PAPER_EPS).toPrecision(12)));

/** Table 2's kept size: every pruning strategy removes this share. */
const TABLE2_RATIO = 0.2;

export const TEMPLATES: readonly ExperimentTemplate[] = [
  {
    name: 'strategies',
    title: 'Pruning strategies at the same kept size (Table 2)',
    description: 'none, random, PE, PD, PE+PD and PUMA, each pruning the same share (prune_ratio; PE+PD half from each end).',
    base: { prune_ratio: TABLE2_RATIO, pd_ratio: 0 },
    vary: (b) => ({
      arms: [
        { strategy: 'none', prune_ratio: 0 },
        { strategy: 'random' },
        { strategy: 'pe' },
        { strategy: 'pd' },
        // Half the share from the easy end, half from the difficult end: same kept size as the others.
        { strategy: 'pe_pd', prune_ratio: b.prune_ratio / 2, pd_ratio: b.prune_ratio / 2 },
        { strategy: 'puma' },
      ],
      grid: {},
    }),
    groupBy: ['strategy'],
  },
  {
    name: 'prune-ratios',
    title: 'PUMA and PE over the pruning ratio (Fig. 6)',
    description: 'PUMA and PE (margin) pruning r ∈ {0.1, 0.2, 0.3, 0.5} of the pool.',
    base: {},
    vary: () => ({ arms: [{}], grid: { strategy: ['puma', 'pe'], prune_ratio: [0.1, 0.2, 0.3, 0.5] } }),
    groupBy: ['strategy', 'prune_ratio'],
  },
  {
    name: 'eq2-eps',
    title: 'The ε of Eq. 2 (Table 5)',
    description: "PUMA with the Eq. 2 radius ε ∈ {4, 6, 8}/255, scaled by the dataset's ε / (8/255).",
    base: { strategy: 'puma' },
    vary: (b) => ({ arms: [{}], grid: { eq2_eps: scaledRadii(b.eps, [4, 6, 8]) } }),
    groupBy: ['eq2_eps'],
  },
  {
    name: 'gap',
    title: 'The gap g of Eq. 3',
    description: "PUMA with the margin-error gap g ∈ {0, 1, 2}/255, scaled by the dataset's ε / (8/255).",
    base: { strategy: 'puma' },
    vary: (b) => ({ arms: [{}], grid: { gap: scaledRadii(b.eps, [0, 1, 2]) } }),
    groupBy: ['gap'],
  },
  {
    name: 'margin-estimators',
    title: 'DeepFool vs the fast margin (Appendix C)',
    description: 'PUMA with margins from the DeepFool search and from the fast estimate.',
    base: { strategy: 'puma' },
    vary: () => ({ arms: [{}], grid: { margin_method: ['deepfool', 'fast'] } }),
    groupBy: ['margin_method'],
  },
  {
    name: 'online',
    title: 'PUMA vs Online PUMA (Eq. 4)',
    description: 'PUMA with precomputed margins against Online PUMA, which estimates margins while training and prunes samples still correct at margin ε.',
    base: {},
    // m_P = ε: a sample classified correctly at the full radius is easy, as PE's high margins are.
    vary: (b) => ({ arms: [{ strategy: 'puma' }, { strategy: 'online_puma', online_prune_margin: b.eps }], grid: {} }),
    groupBy: ['strategy'],
  },
];

export const TEMPLATE_NAMES = TEMPLATES.map((t) => t.name);

export function getTemplate(name: string): ExperimentTemplate {
  const found = TEMPLATES.find((t) => t.name === name);
  if (!found) throw new Error(`Unknown template '${name}'; known templates: ${TEMPLATE_NAMES.join(', ')}.`);
  return found;
}

/** A template resolved against a preset: the sweep to create and every run's config, in order. */
export interface TemplatePlan extends TemplateVariation {
  base: Record<string, unknown>;
  configs: Array<Record<string, unknown>>;
}

/**
 * preset → template base → --set args make the base; the arms and grid come from it (so a
 * `--set eps=…` rescales the radii), and `seeds` seeds 0…n−1 are the innermost grid key.
 */
export function planTemplate(
  template: ExperimentTemplate,
  presetConfig: Record<string, unknown>,
  setArgs: readonly string[] = [],
  seeds = DEFAULT_TEMPLATE_SEEDS,
): TemplatePlan {
  if (!Number.isInteger(seeds) || seeds < 1) throw new Error(`seeds must be a whole number ≥ 1, got ${seeds}`);
  const base = applySetArgs({ ...presetConfig, ...template.base }, setArgs);
  const { arms, grid: varied } = template.vary(parseTrainConfig(base, `template '${template.name}'`));
  const grid = { ...varied, seed: Array.from({ length: seeds }, (_, i) => i) };
  return { base, arms, grid, configs: expandArms(base, arms, grid) };
}

/** How many runs a template makes: arms × grid points × seeds (the grid's sizes do not depend on ε). */
export function templateRunCount(template: ExperimentTemplate, seeds = DEFAULT_TEMPLATE_SEEDS): number {
  const { arms, grid } = template.vary(parseTrainConfig(template.base));
  return arms.length * Object.values(grid).reduce((n, values) => n * values.length, 1) * seeds;
}
