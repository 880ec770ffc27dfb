import type { PresetInfo, SweepPlan } from '../../../src-shared/api/ops/experiments';
import type { RunKind } from '../../../src-shared/domain/runs';
import { TRAIN_SECTIONS } from '../../../src-shared/domain/parameter-docs';
import { DEFAULT_PRESET } from '../../../src-shared/domain/training';
import { parseGridArg, parseValue } from '../../../src-shared/method/sweep';
import { getTemplate, planTemplate, TEMPLATES } from '../../../src-shared/method/templates';
import { client } from '../api/client';

/** The form's sections: config keys by topic (keys not listed go to "Other"); one list, shared with the Train form. */
export const SECTIONS: Array<{ title: string; keys: string[] }> = TRAIN_SECTIONS;

/** A config value as the text of its field. */
export function toText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/**
 * A field's text as the list of values to sweep: "a, b" is two runs; an empty field is null;
 * for a field whose value is a list, "1, 2" is one list and "[1],[2]" two.
 */
export function fieldValues(text: string, wasArray: boolean): unknown[] {
  const t = text.trim();
  if (t === '') return [null];
  if (wasArray && !t.startsWith('[')) return [t.split(',').map((x) => parseValue(x))];
  return parseGridArg(`field=${t}`).values;
}

/** The New experiment form: a preset's full config as fields; lists make a sweep. */
export class ExperimentFormState {
  presets = $state.raw<PresetInfo[]>([]);
  presetName = $state('');
  kind = $state<RunKind>('train');
  name = $state('');
  tags = $state('');
  keys = $state<string[]>([]);
  fields = $state<Record<string, string>>({});
  arrayKeys = new Set<string>();
  plan = $state.raw<SweepPlan | null>(null);
  /** The template that filled the form, and its arms (keys set together, e.g. PE+PD's two ratios). */
  template = $state<string | null>(null);
  arms = $state.raw<Array<Record<string, unknown>> | undefined>(undefined);
  readonly templates = TEMPLATES;
  error = $state<string | null>(null);
  creating = $state(false);
  private timer: ReturnType<typeof setTimeout> | null = null;

  /** Problems by field key (the first path part), for messages under the fields. */
  problemsByKey = $derived.by(() => {
    const out: Record<string, string[]> = {};
    for (const p of this.plan?.problems ?? []) {
      const key = p.path.split('.')[0] || '(config)';
      const runs = this.plan && this.plan.count > 1 ? ` (runs ${p.runs.map((i) => i + 1).join(', ')})` : '';
      (out[key] ??= []).push(p.message + runs);
    }
    return out;
  });

  async init(): Promise<void> {
    try {
      this.presets = await client.call('experiments.presets', {});
      const first = this.presets.find((p) => p.name === DEFAULT_PRESET) ?? this.presets[0];
      if (first) await this.choosePreset(first.name);
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  async choosePreset(name: string): Promise<void> {
    const preset = this.presets.find((p) => p.name === name);
    if (!preset) return;
    this.presetName = name;
    this.kind = preset.kind;
    this.clearTemplate();
    if (!this.name || this.presets.some((p) => this.name === `${p.name} sweep`)) this.name = `${name} sweep`;
    // The full config (defaults filled) so every field of the schema is in the form.
    const plan = await client.call('experiments.plan', { kind: preset.kind, base: preset.config, grid: {} });
    const config = plan.configs[0] ?? preset.config;
    this.arrayKeys = new Set(Object.keys(config).filter((k) => Array.isArray(config[k])));
    this.keys = Object.keys(config);
    this.fields = Object.fromEntries(this.keys.map((k) => [k, toText(config[k])]));
    this.plan = plan;
  }

  /**
   * Fills the fields with one of the paper's experiments over the current values (first of each
   * list): the template's keys, its grid and seeds as comma lists, and its arms (shown apart;
   * they win over the fields).
   */
  applyTemplate(name: string): void {
    try {
      const template = getTemplate(name);
      const { base } = this.spec();
      const plan = planTemplate(template, base);
      // Every field to one value first: a list left from an earlier sweep would multiply the template's grid.
      for (const key of this.keys) this.fields[key] = toText(plan.base[key]);
      for (const [key, values] of Object.entries(plan.grid)) this.fields[key] = values.map(toText).join(', ');
      this.template = name;
      this.arms = plan.arms.length > 1 || Object.keys(plan.arms[0] ?? {}).length ? plan.arms : undefined;
      this.name = `${name} (${this.presetName})`;
      void this.check();
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  clearTemplate(): void {
    this.template = null;
    this.arms = undefined;
  }

  /** Base config and grid (and a template's arms) from the fields; a field that cannot be parsed is reported by name. */
  spec(): { base: Record<string, unknown>; grid: Record<string, unknown[]>; arms?: Array<Record<string, unknown>> } {
    const base: Record<string, unknown> = {};
    const grid: Record<string, unknown[]> = {};
    for (const key of this.keys) {
      let values: unknown[];
      try {
        values = fieldValues(this.fields[key] ?? '', this.arrayKeys.has(key));
      } catch (e) {
        throw new Error(`${key}: ${(e as Error).message.replace(/^method\/sweep \w+: /, '')}`, { cause: e });
      }
      base[key] = values[0];
      if (values.length > 1) grid[key] = values;
    }
    return this.arms ? { base, grid, arms: this.arms } : { base, grid };
  }

  setField(key: string, text: string): void {
    this.fields[key] = text;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.check(), 250);
  }

  async check(): Promise<void> {
    try {
      this.plan = await client.call('experiments.plan', { kind: this.kind, ...this.spec() });
      this.error = null;
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  /** Creates the experiment and queues its runs; resolves with the experiment id. */
  async create(): Promise<number | null> {
    this.creating = true;
    try {
      await this.check();
      if (this.error || (this.plan && this.plan.problems.length)) return null;
      const out = await client.call('experiments.create', { kind: this.kind, name: this.name, tags: this.tags || undefined, ...this.spec() });
      return out.experimentId;
    } catch (e) {
      this.error = (e as Error).message;
      return null;
    } finally {
      this.creating = false;
    }
  }
}
