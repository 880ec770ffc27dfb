/**
 * From a zod schema and its words (./parameter-docs) to what forms and the CLI show: each
 * field's kind and allowed values (read from the schema, so no list of names is written twice),
 * and validation problems as sentences that name the field in words, sit at the field that
 * caused them, and suggest the closest key for a misspelt one. Pure: no Node, no DOM.
 */
import type { z } from 'zod';
import { fieldTitle, type FieldDoc } from './parameter-docs';

export type FieldKind = 'choice' | 'boolean' | 'integer' | 'number' | 'text' | 'list';

export interface FieldSpec {
  key: string;
  doc: FieldDoc;
  /** "Pruning ratio r" */
  title: string;
  kind: FieldKind;
  /** Allowed values as typed (choice and boolean fields); "null" first when the field may be empty. */
  values: string[] | null;
  /** null / empty means "use the default behaviour". */
  nullable: boolean;
  default: unknown;
}

export interface FieldIssue {
  /** Top-level key the problem belongs to (for an unknown key: that key). */
  key: string;
  /** False for a key the schema does not have. */
  known: boolean;
  path: PropertyKey[];
  /** The full sentence, naming the field in words: "Epochs E (epochs): must be a whole number, got 1.5". */
  message: string;
  /** The same without the field's name, for showing right at the field. */
  problem: string;
  /** The closest known key (unknown keys) or allowed value (choices). */
  suggestion?: string;
}

/** A config that failed validation; `message` lists every problem after the source's name. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly issues: FieldIssue[],
  ) {
    super(`${source}: ${issues.map((i) => i.message).join('; ')}`);
    this.name = 'ConfigError';
  }
}

// zod's internal definition, read structurally: enough to walk default / nullable / pipe wrappers.
interface Def {
  type: string;
  innerType?: Schema;
  out?: Schema;
  defaultValue?: unknown;
}
interface Schema {
  def: Def;
  options?: readonly unknown[];
  isInt?: boolean;
}

/** The field's kind, values, nullability and default, read from its zod schema. */
export function fieldSpec(key: string, schema: unknown, doc: FieldDoc): FieldSpec {
  let s = schema as Schema;
  let nullable = false;
  let dflt: unknown = undefined;
  for (let guard = 0; guard < 10; guard++) {
    const d = s.def;
    if (d.type === 'default') dflt = typeof d.defaultValue === 'function' ? (d.defaultValue as () => unknown)() : d.defaultValue;
    if (d.type === 'nullable') nullable = true;
    const next = d.type === 'pipe' ? d.out : d.innerType;
    if (!next || !['default', 'nullable', 'optional', 'pipe'].includes(d.type)) break;
    s = next;
  }
  let kind: FieldKind = 'text';
  let values: string[] | null = null;
  switch (s.def.type) {
    case 'enum':
      kind = 'choice';
      values = (s.options ?? []).map(String);
      break;
    case 'boolean':
      kind = 'boolean';
      values = ['true', 'false'];
      break;
    case 'number':
      kind = s.isInt ? 'integer' : 'number';
      break;
    case 'array':
      kind = 'list';
      break;
  }
  if (values && nullable) values = ['null', ...values];
  return { key, doc, title: fieldTitle(doc), kind, values, nullable, default: dflt };
}

/** How a select shows one allowed value: its words and the value as typed ("small CNN — cnn-small"). */
export function choiceText(spec: FieldSpec, value: string): string {
  const words = spec.doc.choices?.[value];
  if (value === 'null') return `${words ?? 'default'} (empty)`;
  return words && words !== value ? `${words} — ${value}` : value;
}

/** Specs of every key of an object schema, in the schema's order. */
export function fieldSpecs<K extends string>(schema: { shape: Record<K, unknown> }, docs: Record<K, FieldDoc>): Record<K, FieldSpec> {
  const out = {} as Record<K, FieldSpec>;
  for (const key of Object.keys(schema.shape) as K[]) out[key] = fieldSpec(key, schema.shape[key], docs[key]);
  return out;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/**
 * The candidate closest to `name` (case, '-' and '_' ignored), or null when none is close:
 * at most a third of the name's letters differ (at least 1, at most 3 edits).
 */
export function closestName(name: string, candidates: readonly string[]): string | null {
  const norm = (s: string) => s.toLowerCase().replace(/[-_\s]/g, '');
  const n = norm(name);
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(n, norm(c));
    if (d < bestD) ((best = c), (bestD = d));
  }
  const allowed = Math.min(3, Math.max(1, Math.floor(n.length / 3)));
  return bestD <= allowed ? best : null;
}

/** The value as quoted in a message, cut short when long (a 5000-character name, a long list). */
function show(v: unknown): string {
  const text = typeof v === 'string' ? `"${v}"` : typeof v === 'number' && !Number.isFinite(v) ? String(v) : (JSON.stringify(v) ?? String(v));
  return text.length > 60
    ? `${text.slice(0, 50)}… (${typeof v === 'string' ? `${v.length} characters` : Array.isArray(v) ? `${v.length} items` : 'long'})`
    : text;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

interface RawIssue {
  code: string;
  path: PropertyKey[];
  message: string;
  expected?: string;
  origin?: string;
  minimum?: number | bigint;
  maximum?: number | bigint;
  inclusive?: boolean;
  values?: unknown[];
  keys?: string[];
  errors?: RawIssue[][];
}

function problemOf(issue: RawIssue, value: unknown, spec: FieldSpec | undefined): { problem: string; suggestion?: string } {
  const got = value === undefined ? '' : `, got ${show(value)}`;
  const orEmpty = spec?.nullable && issue.path.length === 1 ? ' (or empty for the default)' : '';
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.expected === 'number' && spec?.kind === 'integer' && issue.path.length === 1) return { problem: `must be a whole number${orEmpty}${got}` };
      const what =
        { number: 'a number', int: 'a whole number', boolean: 'true or false', string: 'text', array: 'a list such as [0.5, 0.75]', object: 'an object' }[
          issue.expected ?? ''
        ] ?? issue.expected;
      return { problem: `must be ${what}${orEmpty}${got}` };
    }
    case 'too_small':
      if (issue.origin === 'array') return { problem: `needs at least ${issue.minimum} value${Number(issue.minimum) === 1 ? '' : 's'}` };
      if (issue.origin === 'string') return { problem: 'must not be empty' };
      // "> 0" for a whole number reads better as "at least 1".
      if (spec?.kind === 'integer' && !issue.inclusive) return { problem: `must be at least ${Number(issue.minimum) + 1}${got}` };
      return { problem: `must be ${issue.inclusive ? 'at least' : 'greater than'} ${issue.minimum}${got}` };
    case 'too_big':
      if (issue.origin === 'array') return { problem: `takes at most ${issue.maximum} values` };
      if (issue.origin === 'string') return { problem: `must be at most ${issue.maximum} characters` };
      return { problem: `must be ${issue.inclusive ? 'at most' : 'below'} ${issue.maximum}${got}` };
    case 'invalid_value': {
      const allowed = (issue.values ?? []).map(String);
      const suggestion = typeof value === 'string' ? closestName(value, allowed) : null;
      return {
        problem: `must be one of ${allowed.join(', ')}${got}${suggestion ? ` — did you mean '${suggestion}'?` : ''}`,
        ...(suggestion ? { suggestion } : {}),
      };
    }
    case 'invalid_union': {
      // The branch of the right type says what is wrong (e.g. a name that is too long).
      const branch = (issue.errors ?? []).find((b) => b.length > 0 && b[0]!.code !== 'invalid_type');
      if (branch) return problemOf({ ...branch[0]!, path: issue.path }, value, spec);
      return { problem: `must be a name or a positive id${got}` };
    }
    default:
      return { problem: issue.message };
  }
}

/**
 * zod issues → one sentence each. `input` is what was validated (to quote the bad value);
 * `docs` gives the words and the known keys; `specs` (optional) says which fields may be empty.
 */
export function describeIssues(
  issues: readonly RawIssue[] | readonly z.core.$ZodIssue[],
  input: unknown,
  docs: Record<string, FieldDoc>,
  specs?: Record<string, FieldSpec>,
): FieldIssue[] {
  const known = Object.keys(docs);
  const out: FieldIssue[] = [];
  for (const raw of issues as readonly RawIssue[]) {
    if (raw.code === 'unrecognized_keys') {
      for (const key of raw.keys ?? []) {
        const suggestion = closestName(key, known);
        const problem = suggestion ? `did you mean '${suggestion}'?` : 'no setting has a similar name';
        out.push({
          key,
          known: false,
          path: [...raw.path, key],
          message: `Unknown setting '${key}' — ${problem}`,
          problem,
          ...(suggestion ? { suggestion } : {}),
        });
      }
      continue;
    }
    const key = raw.path.length > 0 ? String(raw.path[0]) : '';
    const doc = docs[key];
    const item = raw.path.length > 1 && typeof raw.path[1] === 'number' ? `, item ${raw.path[1] + 1}` : '';
    const name = doc ? `${fieldTitle(doc)} (${key})` : key || 'The settings';
    const { problem, suggestion } = problemOf(raw, valueAt(input, raw.path), specs?.[key]);
    out.push({
      key,
      known: key in docs,
      path: raw.path,
      message: `${name}${item}: ${problem}`,
      problem: `${item ? `${item.slice(2)}: ` : ''}${problem}`,
      ...(suggestion ? { suggestion } : {}),
    });
  }
  // Unknown keys first: a typo usually explains the rest.
  return [...out.filter((i) => !i.known), ...out.filter((i) => i.known)];
}

/** Parses `raw` with `schema`; on failure throws a ConfigError whose issues name fields in words. */
export function parseWithDocs<T>(
  schema: { safeParse(raw: unknown): { success: true; data: T } | { success: false; error: { issues: readonly z.core.$ZodIssue[] } } },
  raw: unknown,
  docs: Record<string, FieldDoc>,
  source: string,
  specs?: Record<string, FieldSpec>,
): T {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new ConfigError(source, describeIssues(parsed.error.issues, raw, docs, specs));
}

/** The issue a message from elsewhere (e.g. the main process) belongs to, when it starts with "key:". */
export function keyOfMessage(message: string, keys: readonly string[]): string | null {
  const m = /^(?:[^:]*: )?([a-z_][a-z0-9_]*):/i.exec(message);
  return m && keys.includes(m[1]!) ? m[1]! : null;
}
