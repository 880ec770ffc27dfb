/**
 * Side-by-side config comparison of runs ("diff only" / --only-changed): nested objects are
 * flattened to dotted keys, arrays stay whole values. Pure: no Node imports.
 */
import { canonicalJson } from './table';

export interface ConfigDiffRow {
  /** Dotted key, e.g. "attack.eps". */
  key: string;
  /** One value per run, in the order of the input; undefined where a run lacks the key. */
  values: unknown[];
  /** True when not every run has the same value (JSON equality; missing differs from present). */
  differs: boolean;
}

export interface ConfigDiff {
  runIds: number[];
  rows: ConfigDiffRow[];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Flatten nested plain objects into dotted keys ({a:{b:1}} → {"a.b": 1}); arrays and other
 * values stay as they are, and an empty nested object stays as {} so the key is not lost.
 */
export function flattenConfig(config: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (isPlainObject(value) && Object.keys(value).length > 0) Object.assign(out, flattenConfig(value, path));
    else out[path] = value;
  }
  return out;
}

/** Rows of key → value per run, keys in order of first appearance; onlyChanged keeps differing keys. */
export function configDiff(configs: ReadonlyArray<{ run_id: number; config: Record<string, unknown> }>, opts: { onlyChanged?: boolean } = {}): ConfigDiff {
  if (!Array.isArray(configs)) throw new Error('method/config-diff configDiff: configs must be an array');
  const flat = configs.map((entry, i) => {
    if (!isPlainObject(entry) || !isPlainObject(entry.config)) {
      throw new Error(`method/config-diff configDiff: configs[${i}] (run ${String(entry?.run_id)}) has no config object`);
    }
    return flattenConfig(entry.config);
  });
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const config of flat) {
    for (const key of Object.keys(config)) {
      if (!seen.has(key)) {
        seen.add(key);
        keys.push(key);
      }
    }
  }
  const rows: ConfigDiffRow[] = [];
  for (const key of keys) {
    const values = flat.map((config) => (Object.prototype.hasOwnProperty.call(config, key) ? config[key] : undefined));
    const first = canonicalJson(values[0]);
    const differs = values.some((v) => canonicalJson(v) !== first);
    if (!opts.onlyChanged || differs) rows.push({ key, values, differs });
  }
  return { runIds: configs.map((c) => c.run_id), rows };
}
