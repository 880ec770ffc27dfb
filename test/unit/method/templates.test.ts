/**
 * The paper's experiment templates: each expands to the runs the paper compares (computed here
 * independently), every config is one the training schema accepts, --set and --seeds apply,
 * and the Eq. 2 / Eq. 3 radii follow the dataset's ε.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTrainConfig } from '../../../src-shared/domain/training';
import { expandArms } from '../../../src-shared/method/sweep';
import { getTemplate, planTemplate, templateRunCount, TEMPLATE_NAMES, TEMPLATES } from '../../../src-shared/method/templates';

const preset = (name: string): Record<string, unknown> =>
  JSON.parse(fs.readFileSync(path.join('resources', 'presets', `${name}.json`), 'utf8')) as Record<string, unknown>;
const laptop = preset('laptop');
const paper = preset('paper');
const close = (a: unknown, b: number): boolean => typeof a === 'number' && Math.abs(a - b) < 1e-12;

describe('templates', () => {
  it('are the six of the issue, with unique names, a title, a description and an export grouping', () => {
    expect(TEMPLATE_NAMES).toEqual(['strategies', 'prune-ratios', 'eq2-eps', 'gap', 'margin-estimators', 'online']);
    for (const t of TEMPLATES) {
      expect(t.title.length).toBeGreaterThan(5);
      expect(t.description.length).toBeGreaterThan(10);
      expect(t.groupBy.length).toBeGreaterThan(0);
    }
  });

  it.each([
    ['laptop', laptop],
    ['paper', paper],
  ])('every config of every template (%s preset) passes the training schema, and the count matches templateRunCount', (_name, p) => {
    for (const t of TEMPLATES) {
      const plan = planTemplate(t, p);
      expect(plan.configs).toHaveLength(templateRunCount(t));
      for (const c of plan.configs) expect(() => parseTrainConfig(c, t.name)).not.toThrow();
      // The grouping keys are config keys the runs actually differ in.
      for (const key of t.groupBy) expect(new Set(plan.configs.map((c) => JSON.stringify(parseTrainConfig(c)[key as 'strategy']))).size).toBeGreaterThan(1);
    }
  });

  it('strategies: six strategies × 3 seeds, every pruning one removing the same share', () => {
    const configs = planTemplate(getTemplate('strategies'), laptop).configs.map((c) => parseTrainConfig(c));
    expect(configs).toHaveLength(18);
    const expected = ['none', 'random', 'pe', 'pd', 'pe_pd', 'puma'].flatMap((strategy) => [0, 1, 2].map((seed) => ({ strategy, seed })));
    expect(configs.map((c) => ({ strategy: c.strategy, seed: c.seed }))).toEqual(expected);
    const pruned = (c: (typeof configs)[number]): number => (c.strategy === 'none' ? 0 : c.strategy === 'pe_pd' ? c.prune_ratio + c.pd_ratio : c.prune_ratio);
    for (const c of configs) expect(pruned(c)).toBeCloseTo(c.strategy === 'none' ? 0 : 0.2, 12);
    const pePd = configs.find((c) => c.strategy === 'pe_pd')!;
    expect([pePd.prune_ratio, pePd.pd_ratio]).toEqual([0.1, 0.1]);
  });

  it('strategies: --set prune_ratio changes the kept size of every pruning arm, PE+PD included', () => {
    const configs = planTemplate(getTemplate('strategies'), laptop, ['prune_ratio=0.3'], 1).configs.map((c) => parseTrainConfig(c));
    expect(configs.map((c) => [c.strategy, c.prune_ratio, c.pd_ratio])).toEqual([
      ['none', 0, 0],
      ['random', 0.3, 0],
      ['pe', 0.3, 0],
      ['pd', 0.3, 0],
      ['pe_pd', 0.15, 0.15],
      ['puma', 0.3, 0],
    ]);
  });

  it('prune-ratios: PUMA and PE × r ∈ {0.1, 0.2, 0.3, 0.5} × seeds, in nested order', () => {
    const configs = planTemplate(getTemplate('prune-ratios'), laptop).configs;
    const expected = ['puma', 'pe'].flatMap((strategy) =>
      [0.1, 0.2, 0.3, 0.5].flatMap((prune_ratio) => [0, 1, 2].map((seed) => ({ strategy, prune_ratio, seed }))),
    );
    expect(configs.map((c) => ({ strategy: c.strategy, prune_ratio: c.prune_ratio, seed: c.seed }))).toEqual(expected);
    // Everything else is the preset's.
    for (const c of configs) expect({ ...c, strategy: laptop.strategy, prune_ratio: laptop.prune_ratio, seed: laptop.seed }).toEqual(laptop);
  });

  it('eq2-eps and gap: {4,6,8}/255 and {0,1,2}/255 as given for ε = 8/255, scaled by ε/(8/255) for ε = 0.1', () => {
    const eq2Paper = planTemplate(getTemplate('eq2-eps'), paper, [], 1).configs;
    expect(eq2Paper.map((c) => c.strategy)).toEqual(['puma', 'puma', 'puma']);
    [4, 6, 8].forEach((n, i) => expect(close(eq2Paper[i]!.eq2_eps, n / 255)).toBe(true));
    // Exactly, as the export's group labels show them.
    expect(planTemplate(getTemplate('eq2-eps'), laptop, [], 1).configs.map((c) => c.eq2_eps)).toEqual([0.05, 0.075, 0.1]);
    const gapPaper = planTemplate(getTemplate('gap'), paper, [], 1).configs;
    [0, 1, 2].forEach((n, i) => expect(close(gapPaper[i]!.gap, n / 255)).toBe(true));
    expect(planTemplate(getTemplate('gap'), laptop, [], 1).configs.map((c) => c.gap)).toEqual([0, 0.0125, 0.025]);
  });

  it('a --set eps rescales the radii, since the grid is computed from the resolved base', () => {
    const configs = planTemplate(getTemplate('eq2-eps'), laptop, ['eps=0.2'], 1).configs;
    expect(configs.map((c) => [c.eps, c.eq2_eps])).toEqual([
      [0.2, 0.1],
      [0.2, 0.15],
      [0.2, 0.2],
    ]);
  });

  it('margin-estimators and online compare two arms of PUMA', () => {
    const m = planTemplate(getTemplate('margin-estimators'), laptop, [], 1).configs;
    expect(m.map((c) => [c.strategy, c.margin_method])).toEqual([
      ['puma', 'deepfool'],
      ['puma', 'fast'],
    ]);
    const o = planTemplate(getTemplate('online'), laptop, [], 2).configs;
    expect(o.map((c) => [c.strategy, c.seed])).toEqual([
      ['puma', 0],
      ['puma', 1],
      ['online_puma', 0],
      ['online_puma', 1],
    ]);
    // Online PUMA prunes samples still correct at margin ε (null would prune none).
    expect(o[2]!.online_prune_margin).toBe(0.1);
  });

  it('--set applies to every run; --seeds sets the number of seeds', () => {
    const plan = planTemplate(getTemplate('margin-estimators'), laptop, ['epochs=1', 'train_subset=200'], 5);
    expect(plan.configs).toHaveLength(10);
    expect(plan.grid.seed).toEqual([0, 1, 2, 3, 4]);
    for (const c of plan.configs) expect([c.epochs, c.train_subset]).toEqual([1, 200]);
    expect(() => planTemplate(getTemplate('gap'), laptop, [], 0)).toThrow(/seeds/);
  });

  it('a --set the schema refuses, or an unknown template, is an error naming the problem', () => {
    expect(() => planTemplate(getTemplate('gap'), laptop, ['eps=3'])).toThrow(/eps/);
    expect(() => getTemplate('tables')).toThrow(/known templates: strategies, prune-ratios, eq2-eps, gap, margin-estimators, online/);
  });
});

describe('expandArms', () => {
  it('applies each arm to the base, then the grid (arms outermost)', () => {
    const out = expandArms({ a: 1, n: { x: 0 } }, [{ a: 2 }, { 'n.x': 5 }], { s: [0, 1] });
    expect(out).toEqual([
      { a: 2, n: { x: 0 }, s: 0 },
      { a: 2, n: { x: 0 }, s: 1 },
      { a: 1, n: { x: 5 }, s: 0 },
      { a: 1, n: { x: 5 }, s: 1 },
    ]);
  });
});
