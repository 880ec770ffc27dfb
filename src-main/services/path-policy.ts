/**
 * The one path policy: which files an operation may name, and how files named inside a file
 * (weight manifests, archive members) are resolved.
 *
 *  - Browser mode: a typed path must lie under the allowed roots (home, /usr/share/datasets, the
 *    temp folder, /media, /mnt, $PUMA_DATA_ROOTS) or the app's data folder.
 *  - Electron: only what the user picked in a native dialog (plus the system dataset folders,
 *    $PUMA_DATA_ROOTS and the data folder).
 *
 * A path is refused before anything outside the roots is touched, so the answer never tells
 * whether such a file exists or how big it is; symlinks are resolved before the final check.
 * Every operation that names a file is listed once, in NAMED_FILES; `dispatch` applies it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { OperationName } from '../../src-shared/api/contract';
import { BadRequest } from '../../src-shared/api/errors';
import type { PumaApp } from './app';
import { MarginsRepo } from '../store/repos/margins';

/** Where the system keeps datasets (Debian's dataset-* packages): readable in every mode. */
export const DEFAULT_SYSTEM_ROOTS = ['/usr/share/datasets'];

/** Extra roots from $PUMA_DATA_ROOTS (separated like $PATH: ':' on Linux/macOS, ';' on Windows). */
export function extraDataRoots(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.PUMA_DATA_ROOTS ?? '')
    .split(path.delimiter)
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * Browser mode cannot hand us a path the user picked (the browser hides real paths), so a typed
 * path must lie under the user's home, /usr/share/datasets, /tmp, /media, /mnt or $PUMA_DATA_ROOTS.
 */
export function browserImportRoots(env: NodeJS.ProcessEnv = process.env): string[] {
  return [os.homedir(), ...DEFAULT_SYSTEM_ROOTS, os.tmpdir(), '/tmp', '/media', '/mnt', ...extraDataRoots(env)];
}

const inside = (root: string, p: string): boolean => {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..' + path.sep) && rel !== '..' && !path.isAbsolute(rel));
};

function realOrNull(p: string): string | null {
  try {
    return fs.realpathSync(p);
  } catch {
    return null;
  }
}

/** A path outside the allowed folders (as opposed to a missing or malformed one). */
export class PathRefused extends Error {}

/**
 * The real path of `p` when it lies inside one of `allowedRoots`, symlinks resolved; throws
 * otherwise. A path outside every root (as written) is refused without touching it; a missing
 * file is reported only when its nearest existing folder is itself inside a root.
 */
export function assertUserChosenPath(p: string, allowedRoots: readonly string[]): string {
  if (typeof p !== 'string' || !p || p.includes('\0') || p.length > 4096)
    throw new Error(`Refused path ${JSON.stringify(String(p).slice(0, 200))}: not a valid path`);
  const abs = path.resolve(p);
  const roots: string[] = [];
  for (const r of allowedRoots) {
    const lexical = path.resolve(r);
    roots.push(lexical);
    const real = realOrNull(lexical);
    if (real && real !== lexical) roots.push(real);
  }
  const refuse = (): never => {
    throw new PathRefused(`${p}: refused: the path is outside the folders you chose (${allowedRoots.join(', ') || 'none'})`);
  };
  if (!roots.some((r) => inside(r, abs))) refuse();
  const realRoots = allowedRoots.map((r) => realOrNull(path.resolve(r))).filter((r): r is string => r !== null);
  const real = realOrNull(abs);
  if (real === null) {
    // Missing: say so only when the deepest existing folder really is inside a root
    // (a symlinked folder pointing outside must not reveal what exists there).
    let dir = path.dirname(abs);
    let realDir = realOrNull(dir);
    while (realDir === null && dir !== path.dirname(dir)) realDir = realOrNull((dir = path.dirname(dir)));
    if (realDir === null || !realRoots.some((r) => inside(r, realDir!))) refuse();
    throw new Error(`${p}: no such file or folder`);
  }
  if (!realRoots.some((r) => inside(r, real))) refuse();
  return real;
}

/**
 * A file named inside another file `where` (a weight path in a model.json, an archive member):
 * resolved against `baseDir`, and refused when it is absolute or leads outside it (symlinks
 * included, when the file exists). `scope` says what `baseDir` is, in the message.
 */
export function resolveInside(baseDir: string, name: string, where: string, scope = `the folder of ${path.basename(where)}`): string {
  const refuse = (why: string): never => {
    throw new Error(`${where}: refused '${name.slice(0, 200)}': ${why}`);
  };
  if (typeof name !== 'string' || !name || name.includes('\0')) refuse('not a valid file name');
  if (path.isAbsolute(name) || /^[a-zA-Z]:[\\/]/.test(name) || name.startsWith('\\')) refuse(`an absolute path; only files inside ${scope} may be named`);
  const base = path.resolve(baseDir);
  const target = path.resolve(base, name);
  if (target === base || !inside(base, target)) refuse(`it leads outside ${scope}`);
  const real = realOrNull(target);
  const realBase = realOrNull(base) ?? base;
  if (real !== null && !inside(realBase, real)) refuse(`it links outside ${scope}`);
  return target;
}

/**
 * Refuses a chosen folder holding links that lead out of it and out of `alsoAllowed` (a reader
 * would follow them): walks `depth` levels of sub-folders, `maxEntries` entries at most (readers
 * look no deeper).
 */
export function assertNoLinksOut(dir: string, where: string, alsoAllowed: readonly string[] = [], depth = 4, maxEntries = 2_000_000): void {
  const realDir = fs.realpathSync(dir);
  const realRoots = [realDir, ...alsoAllowed.map((r) => realOrNull(path.resolve(r))).filter((r): r is string => r !== null)];
  let seen = 0;
  const walk = (d: string, level: number): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (++seen > maxEntries) return;
      const p = path.join(d, e.name);
      if (e.isSymbolicLink()) {
        const real = realOrNull(p);
        if (real !== null && !realRoots.some((r) => inside(r, real))) {
          throw new Error(`${where}: refused: ${path.relative(dir, p)} is a link that leads outside the chosen folder (and the folders you chose)`);
        }
      } else if (e.isDirectory() && level < depth) walk(p, level + 1);
    }
  };
  walk(dir, 1);
}

/** Config keys that name a file (today only a stored margins file). */
export const CONFIG_FILE_KEYS = ['margin_set'] as const;

/** The path policy of one app: its mode, its roots, and (Electron) what the user picked. */
export class PathPolicy {
  /** Real paths the user picked in a native dialog (Electron). */
  readonly picked = new Set<string>();

  constructor(private readonly app: Pick<PumaApp, 'db' | 'dataDir' | 'options'>) {}

  roots(): string[] {
    const data = [this.app.dataDir];
    const roots =
      this.app.options.mode === 'electron'
        ? [...this.picked, ...DEFAULT_SYSTEM_ROOTS, ...extraDataRoots(), ...data]
        : [...(this.app.options.allowedRoots ?? browserImportRoots()), ...data];
    return [...new Set(roots.map((r) => path.resolve(r)))];
  }

  /** Records a path the user picked in a native dialog; returns its real path. */
  addPicked(p: string): string {
    const real = fs.realpathSync(path.resolve(p));
    this.picked.add(real);
    return real;
  }

  private hint(): string {
    return this.app.options.mode === 'electron'
      ? ' Choose it with the Browse… button.'
      : ' In browser mode a typed path must lie under your home folder, /usr/share/datasets, /tmp, /media, /mnt or a folder listed in $PUMA_DATA_ROOTS.';
  }

  /** The real path of `p` named in request field `field`; a BadRequest naming the field otherwise. */
  check(p: unknown, field: string): string {
    if (typeof p !== 'string') throw new BadRequest(`${field}: a path (text) is expected`);
    try {
      return assertUserChosenPath(p, this.roots());
    } catch (e) {
      throw new BadRequest(`${field}: ${(e as Error).message}.${e instanceof PathRefused ? this.hint() : ''}`);
    }
  }

  /** `check`, and for a folder no link inside it leading out (datasets are read file by file). */
  checkFolder(p: unknown, field: string): string {
    const real = this.check(p, field);
    if (!fs.statSync(real).isDirectory()) return real;
    try {
      assertNoLinksOut(real, `${field}: ${String(p)}`, this.roots());
    } catch (e) {
      throw new BadRequest((e as Error).message);
    }
    return real;
  }

  /**
   * A config's file keys: `margin_set` may be a margin set id (a number, or digits as text), which
   * becomes that set's file, or a path, which must pass `check`. Returns the rewritten config.
   */
  configFiles(config: Record<string, unknown>, field: string): Record<string, unknown> {
    const out = { ...config };
    for (const key of CONFIG_FILE_KEYS) {
      if (out[key] === undefined || out[key] === null) continue;
      out[key] = this.configFile(out[key], `${field}.${key}`);
    }
    return out;
  }

  /** A sweep grid: every value of a file key is checked like a config's. */
  gridFiles(grid: Record<string, unknown[]>, field: string): Record<string, unknown[]> {
    const out = { ...grid };
    for (const key of CONFIG_FILE_KEYS) {
      if (!Array.isArray(out[key])) continue;
      out[key] = out[key]!.map((v, i) => (v === null ? v : this.configFile(v, `${field}.${key}[${i}]`)));
    }
    return out;
  }

  private configFile(value: unknown, field: string): string {
    const id = marginSetId(value);
    return id === null ? this.check(value, field) : marginSetFile(this.app, id, field);
  }
}

/** A `margin_set` value that names a margin set by id (a number, or digits as text), else null. */
function marginSetId(value: unknown): number | null {
  return typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : null;
}

/** The margins file of complete margin set `id` of the log; a BadRequest naming `field` otherwise. */
export function marginSetFile(app: Pick<PumaApp, 'db'>, id: number, field = 'margin_set'): string {
  const set = Number.isSafeInteger(id) && id > 0 ? new MarginsRepo(app.db).get(id) : undefined;
  if (!set) throw new BadRequest(`${field}: margin set ${id} does not exist in the experiment log (Margins page / \`puma margins list\`)`);
  if (set.status !== 'complete' || !set.file) {
    throw new BadRequest(`${field}: margin set ${id} is not complete (${set.chunksDone} / ${set.chunksTotal} chunks); finish it on the Margins page first`);
  }
  return set.file;
}

/**
 * A config with `margin_set` given as an id replaced by that set's file (paths left as they are):
 * what the CLI needs, where any path is the user's own.
 */
export function marginSetIdsToFiles(app: Pick<PumaApp, 'db'>, config: unknown, field = 'margin_set'): unknown {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) return config;
  const id = marginSetId((config as Record<string, unknown>).margin_set);
  return id === null ? config : { ...config, margin_set: marginSetFile(app, id, field) };
}

type Req = Record<string, unknown>;
const obj = (v: unknown): Record<string, unknown> => v as Record<string, unknown>;

/** A sweep's base, arms and grid: each file key checked like a config's. */
function sweepFiles(p: PathPolicy, r: Req): Req {
  const arms = Array.isArray(r.arms) ? { arms: (r.arms as unknown[]).map((a, i) => p.configFiles(obj(a), `arms[${i}]`)) } : {};
  return { ...r, base: p.configFiles(obj(r.base), 'base'), grid: p.gridFiles(obj(r.grid) as Record<string, unknown[]>, 'grid'), ...arms };
}

/**
 * Every operation whose request names a file, and how: each gets the request as validated by the
 * contract and returns it with the paths replaced by their checked real paths.
 */
const NAMED_FILES: Partial<Record<OperationName, (p: PathPolicy, req: Req) => Req>> = {
  'datasets.import': (p, r) => ({ ...r, path: p.checkFolder(r.path, 'path') }),
  'models.import': (p, r) => ({ ...r, path: p.check(r.path, 'path') }),
  // a file to write: its folder must be one the user may name
  'models.export': (p, r) => ({ ...r, out: path.join(p.check(path.dirname(String(r.out)), 'out'), path.basename(String(r.out))) }),
  'training.start': (p, r) => ({ ...r, config: p.configFiles(obj(r.config), 'config') }),
  'models.train': (p, r) => (r.extra === undefined ? r : { ...r, extra: p.configFiles(obj(r.extra), 'extra') }),
  'experiments.plan': (p, r) => sweepFiles(p, r),
  'experiments.create': (p, r) => sweepFiles(p, r),
};

/** Applies the path policy to a validated request (unchanged for operations that name no file). */
export function checkNamedFiles(policy: PathPolicy, op: OperationName, req: unknown): unknown {
  const rewrite = NAMED_FILES[op];
  return rewrite ? rewrite(policy, req as Req) : req;
}

/**
 * A message fit for an answer over HTTP: stack frames dropped, and absolute paths outside the
 * user's own folders (`userRoots`) shortened to their last part; the app's own files become
 * relative to `appRoot`.
 */
export function scrubMessage(text: string, userRoots: readonly string[], appRoot: string): string {
  const lines = text.split('\n').filter((l) => !/^\s*at\s/.test(l));
  const roots = userRoots.map((r) => path.resolve(r));
  return lines
    .join('\n')
    .trim()
    .replace(/(?:file:\/\/)?(?<![\w.~-])\/(?:[^\s'"`,;()[\]{}<>]*[^\s'"`,;:.()[\]{}<>])?/g, (m) => {
      const p = m.replace(/^file:\/\//, '');
      if (inside(path.resolve(appRoot), p)) return path.relative(appRoot, p) || '.';
      if (roots.some((r) => inside(r, p))) return p;
      return `…/${path.basename(p)}`;
    });
}
