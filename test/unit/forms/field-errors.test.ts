import { describe, expect, it } from 'vitest';
import { ConfigError, closestName, describeIssues, keyOfMessage } from '../../../src-shared/domain/field-errors';
import { PERCEPTRON_FIELDS, TRAIN_FIELDS } from '../../../src-shared/domain/form-fields';
import { PERCEPTRON_DOCS, TRAIN_DOCS, TRAIN_SECTIONS } from '../../../src-shared/domain/parameter-docs';
import { PerceptronConfig } from '../../../src-shared/domain/perceptron';
import { PRUNING_STRATEGIES, TRAIN_ARCHITECTURES, TRAIN_METHODS, TrainConfig, parseTrainConfig } from '../../../src-shared/domain/training';

function configError(raw: unknown, source = 'my.json'): ConfigError {
  try {
    parseTrainConfig(raw, source);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected the config to be rejected');
}

describe('training config errors', () => {
  it('names an unknown key and suggests the closest one', () => {
    const e = configError({ epochz: 3 });
    expect(e.issues).toHaveLength(1);
    expect(e.issues[0]).toMatchObject({ key: 'epochz', known: false, suggestion: 'epochs' });
    expect(e.message).toBe("my.json: Unknown setting 'epochz' — did you mean 'epochs'?");
    expect(configError({ prune_ration: 0.2 }).issues[0]!.suggestion).toBe('prune_ratio');
    expect(configError({ 'eq2-eps': 0.1 }).issues[0]!.suggestion).toBe('eq2_eps');
  });

  it('does not invent a suggestion for a key unlike any other', () => {
    const e = configError({ colour_scheme: 'dark' });
    expect(e.issues[0]!.suggestion).toBeUndefined();
    expect(e.issues[0]!.message).toBe("Unknown setting 'colour_scheme' — no setting has a similar name");
  });

  it('maps a field path to its label in words, the key and the bad value', () => {
    const e = configError({ prune_ratio: 1.5, epochs: 1.5, eps: 'abc' });
    const byKey = Object.fromEntries(e.issues.map((i) => [i.key, i]));
    expect(byKey.prune_ratio!.message).toBe('Pruning ratio r (prune_ratio): must be at most 0.99, got 1.5');
    expect(byKey.epochs!.message).toBe('Epochs E (epochs): must be a whole number, got 1.5');
    expect(byKey.eps!.message).toBe('Radius ε (eps): must be a number, got "abc"');
    // The field-local text leaves the name out (the form shows it above the field).
    expect(byKey.prune_ratio!.problem).toBe('must be at most 0.99, got 1.5');
  });

  it('names the item of a list and says a nullable field may be left empty', () => {
    const e = configError({ step_milestones: [0.5, 3], train_subset: 'many' });
    const byKey = Object.fromEntries(e.issues.map((i) => [i.key, i]));
    expect(byKey.step_milestones!.message).toBe('Step milestones (step_milestones), item 2: must be at most 1, got 3');
    expect(byKey.train_subset!.message).toBe('Training subset N (train_subset): must be a whole number (or empty for the default), got "many"');
  });

  it('suggests the closest allowed value of a fixed-choice field and lists the choices from the schema', () => {
    const e = configError({ strategy: 'pumaa' });
    expect(e.issues[0]!.suggestion).toBe('puma');
    expect(e.issues[0]!.message).toContain(PRUNING_STRATEGIES.join(', '));
  });

  it('keeps the custom checks of the schema, at their field', () => {
    const e = configError({ strategy: 'pe_pd', prune_ratio: 0.6, pd_ratio: 0.5 });
    expect(e.issues[0]).toMatchObject({ key: 'pd_ratio', known: true });
    expect(e.issues[0]!.message).toMatch(/^PD ratio \(pd_ratio\): prune_ratio \+ pd_ratio must stay below 1/);
  });

  it('says what is wrong with the branch of a union that has the right type, and cuts long values short', () => {
    expect(configError({ dataset: 'x'.repeat(5000) }).issues[0]!.message).toBe('Dataset (dataset): must be at most 4096 characters');
    expect(configError({ dataset: true }).issues[0]!.message).toBe('Dataset (dataset): must be a name or a positive id, got true');
    const long = configError({ eps: 'y'.repeat(300) }).issues[0]!.message;
    expect(long).toBe(`Radius ε (eps): must be a number, got "${'y'.repeat(49)}… (300 characters)`);
  });

  it('reads a whole number greater than 0 as "at least 1"', () => {
    expect(configError({ batch_size: 0 }).issues[0]!.message).toBe('Batch size (batch_size): must be at least 1, got 0');
  });
});

describe('fields derived from the schema', () => {
  it('has words for every key of the training and perceptron schemas', () => {
    expect(Object.keys(TRAIN_DOCS).sort()).toEqual(Object.keys(TrainConfig.shape).sort());
    expect(Object.keys(PERCEPTRON_DOCS).sort()).toEqual(Object.keys(PerceptronConfig.shape).sort());
    for (const f of Object.values(TRAIN_FIELDS)) expect(f.doc.help.length, f.key).toBeGreaterThan(10);
  });

  it('puts every training key in exactly one section', () => {
    const listed = TRAIN_SECTIONS.flatMap((x) => x.keys);
    expect(new Set(listed).size).toBe(listed.length);
    expect([...listed].sort()).toEqual(Object.keys(TrainConfig.shape).sort());
  });

  it('takes the allowed values of enum fields from the zod schema', () => {
    expect(TRAIN_FIELDS.strategy.kind).toBe('choice');
    expect(TRAIN_FIELDS.strategy.values).toEqual([...PRUNING_STRATEGIES]);
    expect(TRAIN_FIELDS.arch.values).toEqual([...TRAIN_ARCHITECTURES]);
    expect(TRAIN_FIELDS.method.values).toEqual([...TRAIN_METHODS]);
    expect(TRAIN_FIELDS.schedule.values).toEqual(TrainConfig.shape.schedule.unwrap().options);
    // A nullable boolean offers the empty (automatic) choice first.
    expect(TRAIN_FIELDS.augment).toMatchObject({ kind: 'boolean', values: ['null', 'true', 'false'], nullable: true });
    expect(TRAIN_FIELDS.epochs).toMatchObject({ kind: 'integer', values: null, default: 5 });
    expect(TRAIN_FIELDS.eps.kind).toBe('number');
    expect(PERCEPTRON_FIELDS.filterBelowEps.kind).toBe('boolean');
    // Every fixed-choice field documents each of its values in words.
    for (const f of Object.values(TRAIN_FIELDS)) {
      if (f.kind === 'choice') for (const v of f.values!) expect(f.doc.choices?.[v], `${f.key}=${v}`).toBeTruthy();
    }
  });

  it('puts the paper symbol in the title and pixel scale on every radius', () => {
    expect(TRAIN_FIELDS.prune_ratio.title).toBe('Pruning ratio r');
    expect(TRAIN_FIELDS.ema_tau.title).toBe('EMA decay τ');
    for (const k of ['eps', 'eq2_eps', 'gap', 'attack_step_size', 'eval_step_size', 'online_prune_margin'] as const) {
      expect(TRAIN_FIELDS[k].doc.unit, k).toMatch(/pixel scale \[0, 1\]/);
    }
  });
});

describe('perceptron errors', () => {
  it('names the list item in words', () => {
    const raw = { alphas: [0.5, 'x'], k: 1 };
    const parsed = PerceptronConfig.safeParse(raw);
    expect(parsed.success).toBe(false);
    const issues = describeIssues(parsed.error!.issues, raw, PERCEPTRON_DOCS, PERCEPTRON_FIELDS);
    expect(issues.map((i) => i.message)).toEqual(['Dimensions K (k): must be at least 2, got 1', 'Data ratios α (alphas), item 2: must be a number, got "x"']);
    expect(issues[1]!.problem).toBe('item 2: must be a number, got "x"');
  });
});

describe('helpers', () => {
  it('closestName ignores case and separators and refuses far names', () => {
    expect(closestName('EMA-TAU', ['ema_tau', 'eps'])).toBe('ema_tau');
    expect(closestName('xyz', ['epochs', 'eps'])).toBeNull();
  });
  it('keyOfMessage finds the key a main-process message starts with', () => {
    expect(keyOfMessage('margin_model: run 5 does not exist', Object.keys(TRAIN_FIELDS))).toBe('margin_model');
    expect(keyOfMessage('training config: cd_run: run 3 is a perceptron run', Object.keys(TRAIN_FIELDS))).toBe('cd_run');
    expect(keyOfMessage('Dataset "x" is not imported', Object.keys(TRAIN_FIELDS))).toBeNull();
  });
});

describe('sweep plans (New experiment, puma sweep)', () => {
  it('report problems in words: the bad value, the closest key', async () => {
    const { validateConfig } = await import('../../../src-main/services/experiments/presets');
    const v = validateConfig('train', { prune_ratio: 1.5, epochz: 1 });
    expect(v.ok).toBe(false);
    expect(v.ok ? [] : v.problems).toEqual([
      { path: '', message: "Unknown setting 'epochz' — did you mean 'epochs'?" },
      { path: 'prune_ratio', message: 'must be at most 0.99, got 1.5' },
    ]);
  });
});
