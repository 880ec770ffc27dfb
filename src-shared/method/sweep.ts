/**
 * Sweeps: cartesian grids over config keys and the `--grid key=v1,v2` / `--set key=value`
 * arguments of `puma sweep` and `puma train`. Keys may be dotted ("attack.eps") to reach into
 * nested config objects. Values are parsed as JSON when they parse (1, 0.5, true, null,
 * [1,2], "quoted") and kept as strings otherwise (none, 8/255). Pure: no Node imports.
 */

const UNSAFE_KEYS = new Set(['__proto__', 'prototype', 'constructor']);

function fail(fn: string, problem: string): never {
  throw new Error(`method/sweep ${fn}: ${problem}`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Split a dotted key into its parts; rejects empty parts and prototype-polluting names. */
export function keyPath(key: string, fn = 'keyPath'): string[] {
  if (typeof key !== 'string' || key.trim() === '') fail(fn, 'empty key');
  const parts = key.split('.');
  for (const part of parts) {
    if (part === '' || part.trim() !== part) fail(fn, `key "${key}" has an empty part or spaces around a part`);
    if (UNSAFE_KEYS.has(part)) fail(fn, `key "${key}" uses the reserved name "${part}"`);
  }
  return parts;
}

function cloneValue<T>(value: T): T {
  return structuredClone(value);
}

/**
 * A copy of `config` with the dotted `key` set to `value`; missing intermediate objects are
 * created. Setting below a non-object value (e.g. "epochs.x" when epochs is 10) is an error.
 */
export function setConfigValue(config: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const parts = keyPath(key, 'setConfigValue');
  const out = cloneValue(config);
  let target: Record<string, unknown> = out;
  for (let i = 0; i < parts.length - 1; i++) {
    const part = parts[i]!;
    const next = target[part];
    if (next === undefined) target[part] = {};
    else if (!isPlainObject(next)) {
      fail('setConfigValue', `cannot set "${key}": "${parts.slice(0, i + 1).join('.')}" is ${JSON.stringify(next)}, not an object`);
    }
    target = target[part] as Record<string, unknown>;
  }
  target[parts[parts.length - 1]!] = cloneValue(value);
  return out;
}

/**
 * Every combination of the grid's values applied to a copy of `base`. Deterministic order:
 * the first grid key varies slowest (like nested for-loops in key order). An empty grid gives
 * [copy of base].
 */
export function expandGrid(base: Record<string, unknown>, grid: Record<string, unknown[]>): Array<Record<string, unknown>> {
  if (!isPlainObject(base)) fail('expandGrid', 'base must be an object');
  if (!isPlainObject(grid)) fail('expandGrid', 'grid must be an object of key → values');
  const entries = Object.entries(grid);
  for (const [key, values] of entries) {
    keyPath(key, 'expandGrid');
    if (!Array.isArray(values) || values.length === 0) fail('expandGrid', `grid key "${key}" needs at least one value`);
  }
  let configs: Array<Record<string, unknown>> = [cloneValue(base)];
  for (const [key, values] of entries) {
    const next: Array<Record<string, unknown>> = [];
    for (const config of configs) for (const value of values) next.push(setConfigValue(config, key, value));
    configs = next;
  }
  return configs;
}

/** Every arm × grid point of `grid` over `base` (arms outermost, then the grid in key order). */
export function expandArms(
  base: Record<string, unknown>,
  arms: Array<Record<string, unknown>>,
  grid: Record<string, unknown[]>,
): Array<Record<string, unknown>> {
  return arms.flatMap((arm) =>
    expandGrid(
      Object.entries(arm).reduce((c, [k, v]) => setConfigValue(c, k, v), base),
      grid,
    ),
  );
}

/** JSON when it parses (numbers, booleans, null, arrays, objects, "quoted strings"), else the text itself. */
export function parseValue(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed === '') return '';
  try {
    return JSON.parse(trimmed);
  } catch {
    return trimmed;
  }
}

/** Split on commas that are not inside brackets, braces or double quotes, so "[1,2],[3,4]" is two values. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let inString = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') depth++;
    else if ((c === ']' || c === '}') && depth > 0) depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function splitAssignment(arg: string, fn: string, example: string): [string, string] {
  if (typeof arg !== 'string') fail(fn, `expected a string like ${example}`);
  const eq = arg.indexOf('=');
  if (eq <= 0) fail(fn, `"${arg}" is not of the form ${example}`);
  const key = arg.slice(0, eq).trim();
  keyPath(key, fn);
  return [key, arg.slice(eq + 1)];
}

/** `--set key=value`, e.g. "epochs=1" → {key: "epochs", value: 1}. An empty value is "". */
export function parseSetArg(arg: string): { key: string; value: unknown } {
  const [key, text] = splitAssignment(arg, 'parseSetArg', 'key=value');
  return { key, value: parseValue(text) };
}

/** `--grid key=v1,v2`, e.g. "strategy=none,puma" → {key: "strategy", values: ["none", "puma"]}. */
export function parseGridArg(arg: string): { key: string; values: unknown[] } {
  const [key, text] = splitAssignment(arg, 'parseGridArg', 'key=v1,v2');
  const items = splitTopLevel(text);
  if (items.some((item) => item.trim() === '')) fail('parseGridArg', `"${arg}" has an empty value (check the commas)`);
  return { key, values: items.map(parseValue) };
}

/** Several --grid arguments as one grid; naming a key twice is an error. */
export function parseGridArgs(args: readonly string[]): Record<string, unknown[]> {
  const grid: Record<string, unknown[]> = {};
  for (const arg of args) {
    const { key, values } = parseGridArg(arg);
    if (Object.prototype.hasOwnProperty.call(grid, key)) fail('parseGridArgs', `grid key "${key}" given twice`);
    grid[key] = values;
  }
  return grid;
}

/** Apply several --set arguments, in order, to a copy of `base`. */
export function applySetArgs(base: Record<string, unknown>, args: readonly string[]): Record<string, unknown> {
  let config = cloneValue(base);
  for (const arg of args) {
    const { key, value } = parseSetArg(arg);
    config = setConfigValue(config, key, value);
  }
  return config;
}
