import { describeIssues, keyOfMessage, type FieldIssue } from '../../../src-shared/domain/field-errors';
import { TRAIN_FIELDS, type TrainKey } from '../../../src-shared/domain/form-fields';
import { TRAIN_DOCS } from '../../../src-shared/domain/parameter-docs';
import { DEFAULT_PRESET, TrainConfig } from '../../../src-shared/domain/training';
import { parseSetArg, setConfigValue } from '../../../src-shared/method/sweep';
import type { ResponseOf } from '../../../src-shared/api/contract';
import { client } from '../api/client';

export interface PresetView {
  name: string;
  description: string;
  config: Record<string, unknown>;
}

/** The keys most runs change, shown first; every other key is under "All settings". */
export const MAIN_KEYS: TrainKey[] = ['dataset', 'train_subset', 'strategy', 'prune_ratio', 'method', 'eps', 'eq2_eps', 'gap', 'epochs', 'arch', 'seed'];
export const ALL_KEYS = Object.keys(TRAIN_FIELDS) as TrainKey[];

/** A value as the form shows it: text, so "8/255" stays readable; null (the default behaviour) is empty. */
function asText(v: unknown): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Text back to a value: empty → null for a field that may be empty, JSON when it parses, else the text. */
function fromText(key: TrainKey, text: string): unknown {
  const t = text.trim();
  if (t === '' && TRAIN_FIELDS[key].nullable) return null;
  if (TRAIN_FIELDS[key].kind === 'choice') return t;
  try {
    return JSON.parse(t);
  } catch {
    return t; // e.g. 8/255, names; the schema says what is wrong with it
  }
}

/**
 * The Train page's form: a preset, every setting as text, `key=value` overrides, and the problems
 * found — each at the field that caused it (or at the overrides box, for the lines there).
 */
export class TrainFormState {
  presets = $state<PresetView[]>([]);
  preset = $state<string>(DEFAULT_PRESET);
  fields = $state<Record<TrainKey, string>>({} as Record<TrainKey, string>);
  overrides = $state('');
  issues = $state<FieldIssue[]>([]);
  /** Problems of the overrides box: unparsable lines, unknown keys, bad values set there. */
  overrideIssues = $state<string[]>([]);
  /** A problem that belongs to no field (e.g. the dataset is not imported). */
  error = $state<string | null>(null);
  busy = $state(false);
  estimate = $state<ResponseOf<'training.estimate'>>(null);

  /** Names offered in the dataset field: the imported base datasets (and the system Fashion-MNIST). */
  datasetNames = $state<string[]>(['fashion-mnist']);

  async load(): Promise<void> {
    try {
      const datasets = await client.call('datasets.list', {}).catch(() => []);
      this.datasetNames = [...new Set(['fashion-mnist', ...datasets.filter((d) => !d.generatedFor).map((d) => d.name)])];
      this.presets = (await client.call('training.presets', {})) as PresetView[];
      if (Object.keys(this.fields).length === 0) this.choose(this.preset);
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  /** Fill every field from a preset: its keys, the schema's defaults for the rest. */
  choose(name: string): void {
    this.preset = name;
    const p = this.presets.find((x) => x.name === name);
    if (p) this.fill(p.config);
  }

  /** Fill the form from a config (a preset's, or a run's when cloning it). */
  fill(config: Record<string, unknown>): void {
    const out = {} as Record<TrainKey, string>;
    for (const key of ALL_KEYS) out[key] = asText(key in config ? config[key] : TRAIN_FIELDS[key].default);
    this.fields = out;
    this.issues = [];
    this.overrideIssues = [];
    this.error = null;
  }

  /** Problems shown at a field (not those caused by an override line). */
  issuesAt(key: string): FieldIssue[] {
    return this.issues.filter((i) => i.key === key);
  }

  /** The config the form describes, and its problems (field issues; lines of the overrides box). */
  private build(): { config: Record<string, unknown>; issues: FieldIssue[]; overrideIssues: string[] } {
    const issues: FieldIssue[] = [];
    const overrideIssues: string[] = [];
    let config: Record<string, unknown> = {};
    for (const key of ALL_KEYS) config[key] = fromText(key, this.fields[key] ?? '');
    const overridden = new Map<string, number>();
    this.overrides.split('\n').forEach((raw, i) => {
      const line = raw.trim().replace(/^--set\s+/, '');
      if (line === '' || line.startsWith('#')) return;
      try {
        const { key, value } = parseSetArg(line);
        config = setConfigValue(config, key, value);
        overridden.set(key.split('.')[0]!, i + 1);
      } catch (e) {
        overrideIssues.push(`Line ${i + 1}: ${(e as Error).message.replace(/^method\/sweep \w+: /, '')}`);
      }
    });
    const parsed = TrainConfig.safeParse(config);
    if (!parsed.success) {
      for (const issue of describeIssues(parsed.error.issues, config, TRAIN_DOCS, TRAIN_FIELDS)) {
        // A problem from an override line is shown at the box, with its line number.
        const line = overridden.get(issue.key);
        if (!issue.known || line !== undefined) overrideIssues.push(`${line !== undefined ? `Line ${line}: ` : ''}${issue.message}`);
        else issues.push(issue);
      }
    }
    const lineOf = (m: string) => Number(/^Line (\d+)/.exec(m)?.[1] ?? 0);
    overrideIssues.sort((a, b) => lineOf(a) - lineOf(b));
    return { config, issues, overrideIssues };
  }

  /**
   * The config to start, or null after recording every problem where it belongs. Override lines
   * apply last, like `puma train --set`.
   */
  validate(): Record<string, unknown> | null {
    const { config, issues, overrideIssues } = this.build();
    this.issues = issues;
    this.overrideIssues = overrideIssues;
    this.error = null;
    return issues.length + overrideIssues.length === 0 ? config : null;
  }

  /** The time the run would take (quietly none while the form has problems). */
  async refreshEstimate(): Promise<void> {
    const { config, issues, overrideIssues } = this.build();
    if (issues.length + overrideIssues.length > 0) {
      this.estimate = null;
      return;
    }
    try {
      this.estimate = await client.call('training.estimate', { config });
    } catch {
      this.estimate = null; // e.g. a dataset that is not imported: starting says so at its field
    }
  }

  /** Validates, starts the run and returns its id; null when something must be fixed first. */
  async start(): Promise<number | null> {
    const config = this.validate();
    if (!config) return null;
    this.busy = true;
    try {
      const { runId } = await client.call('training.start', { config });
      return runId;
    } catch (e) {
      const message = (e as Error).message;
      // The main process checks what the schema cannot (runs exist, the dataset is imported).
      const named = keyOfMessage(message, ALL_KEYS);
      const key = named ?? (/^Dataset /.test(message) ? 'dataset' : null);
      if (key)
        this.issues = [
          { key, known: true, path: [key], message, problem: named ? message.slice(message.indexOf(`${named}:`) + named.length + 1).trim() : message },
        ];
      else this.error = message;
      return null;
    } finally {
      this.busy = false;
    }
  }
}
