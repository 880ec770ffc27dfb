/**
 * Config schemas per run kind and the named presets (resources/presets/<name>.json), for sweeps
 * from the New experiment form and `puma sweep`.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import type { ConfigProblem, PresetInfo } from '../../../src-shared/api/ops/experiments';
import { describeIssues, type FieldSpec } from '../../../src-shared/domain/field-errors';
import { PERCEPTRON_FIELDS, TRAIN_FIELDS } from '../../../src-shared/domain/form-fields';
import { PERCEPTRON_DOCS, TRAIN_DOCS, type FieldDoc } from '../../../src-shared/domain/parameter-docs';
import { PerceptronConfig } from '../../../src-shared/domain/perceptron';
import { RunKind } from '../../../src-shared/domain/runs';
import { TrainConfig } from '../../../src-shared/domain/training';
import { APP_ROOT } from '../system';
import { readJsonFile } from '../limits';

/** The schema that validates (and fills defaults of) a config of each kind that a sweep can run. */
export const CONFIG_SCHEMAS: Partial<Record<RunKind, z.ZodType<Record<string, unknown>>>> = {
  train: TrainConfig as unknown as z.ZodType<Record<string, unknown>>,
  perceptron: PerceptronConfig as unknown as z.ZodType<Record<string, unknown>>,
};

export const presetsDir = (): string => path.join(APP_ROOT, 'resources', 'presets');

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A preset file is either a bare training config or {kind?, description?, config}. Bad JSON is
 * an Error naming the file.
 */
export function readPreset(file: string): PresetInfo {
  let raw: unknown;
  try {
    // size and nesting limited; the message names the file, never echoes it
    raw = readJsonFile(file);
  } catch (err) {
    throw new Error(`cannot read the preset: ${(err as Error).message}`, { cause: err });
  }
  if (!isPlainObject(raw)) throw new Error(`${file}: a preset must be a JSON object`);
  const wrapped = isPlainObject(raw.config);
  const kind = RunKind.safeParse(wrapped && raw.kind !== undefined ? raw.kind : 'train');
  if (!kind.success) throw new Error(`${file}: unknown run kind ${JSON.stringify(raw.kind)}`);
  const config = wrapped ? (raw.config as Record<string, unknown>) : { ...raw };
  // Documentation keys some presets carry at the top level are not config.
  if (!wrapped) for (const key of ['description', '$comment', 'name']) delete config[key];
  const description = typeof raw.description === 'string' ? raw.description : '';
  return { name: path.basename(file, '.json'), kind: kind.data, description, config };
}

export function listPresets(dir = presetsDir()): PresetInfo[] {
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort();
  } catch {
    return [];
  }
  return files.map((f) => readPreset(path.join(dir, f)));
}

export function getPreset(name: string, dir = presetsDir()): PresetInfo {
  const found = listPresets(dir).find((p) => p.name === name);
  if (!found) {
    const names = listPresets(dir).map((p) => p.name);
    throw new Error(`Unknown preset '${name}' (in ${dir}); available: ${names.join(', ') || 'none'}.`);
  }
  return found;
}

/** Validates one config of a kind: the parsed config (defaults filled) or its problems. */
export function validateConfig(
  kind: RunKind,
  config: Record<string, unknown>,
): { ok: true; config: Record<string, unknown> } | { ok: false; problems: Array<{ path: string; message: string }> } {
  const schema = CONFIG_SCHEMAS[kind];
  if (!schema) return { ok: false, problems: [{ path: '', message: `runs of kind '${kind}' cannot be swept` }] };
  const parsed = schema.safeParse(config);
  if (parsed.success) return { ok: true, config: parsed.data };
  // In words: the bad value quoted, the closest key or choice suggested (an unknown key has no field: path '').
  const [docs, specs] = kind === 'perceptron' ? [PERCEPTRON_DOCS, PERCEPTRON_FIELDS] : [TRAIN_DOCS, TRAIN_FIELDS];
  const issues = describeIssues(parsed.error.issues, config, docs as Record<string, FieldDoc>, specs as Record<string, FieldSpec>);
  return { ok: false, problems: issues.map((i) => (i.known ? { path: i.path.join('.'), message: i.problem } : { path: '', message: i.message })) };
}

/** Merges the problems of many configs: one entry per path + message, with the run indices. */
export function collectProblems(perRun: Array<Array<{ path: string; message: string }>>): ConfigProblem[] {
  const byKey = new Map<string, ConfigProblem>();
  perRun.forEach((problems, index) => {
    for (const p of problems) {
      const key = `${p.path}\u0000${p.message}`;
      const entry = byKey.get(key) ?? { path: p.path, message: p.message, runs: [] };
      entry.runs.push(index);
      byKey.set(key, entry);
    }
  });
  return [...byKey.values()];
}
