import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LogError } from '../../src-shared/api/errors';
import { migrations, NEWEST_VERSION } from './migrations';
import { nativeBindingPath } from './native-binding';

export type Db = Database.Database;

/** What to do about each SQLite failure class (the code's prefix before any '_' detail). */
const HINTS: Record<string, string> = {
  SQLITE_FULL: 'free some disk space, then try again (a stopped run can be resumed)',
  SQLITE_IOERR: 'the disk could not be read or written; check the drive, then try again',
  SQLITE_READONLY: 'the log is open read-only; make the file and its folder writable, then restart PUMA Lab',
  SQLITE_CORRUPT: 'the log is damaged; restore a backup, or move it aside to start a new log',
  SQLITE_NOTADB: 'this is not an experiment log; pick another file with --db or PUMA_DB',
  SQLITE_CANTOPEN: 'check that the file and its folder exist and can be read',
  SQLITE_BUSY: 'another PUMA Lab is writing to the log; try again in a moment',
  SQLITE_LOCKED: 'another PUMA Lab is writing to the log; try again in a moment',
};

/** Storage faults: the disk or the file failed, not the request (retrying the same write fails again). */
export function isStorageFault(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^SQLITE_(FULL|IOERR|READONLY|CORRUPT|NOTADB|CANTOPEN)/.test(code);
}

const NAMED = Symbol('named');

/**
 * Makes an SQLite error name the log and say what to do ("experiment log /x/log.db: database or
 * disk is full — free some disk space, …"), in place so its class and code stay. Other errors
 * pass through unchanged.
 */
export function nameLogError(err: unknown, file: string): unknown {
  if (!(err instanceof Database.SqliteError) || (err as unknown as Record<symbol, boolean>)[NAMED]) return err;
  const family = err.code.replace(/^(SQLITE_[A-Z]+).*$/, '$1');
  const hint = HINTS[family];
  err.message = `experiment log ${file}: ${err.message}${hint ? ` — ${hint}` : ''}`;
  (err as unknown as Record<symbol, boolean>)[NAMED] = true;
  return err;
}

/** Where a log lives and why it is read-only (null: writable). */
export interface LogInfo {
  file: string;
  readOnly: string | null;
}
const infos = new WeakMap<Db, LogInfo>();

export function logInfo(db: Db): LogInfo {
  return infos.get(db) ?? { file: db.name, readOnly: db.readonly ? 'opened read-only' : null };
}

export interface OpenOptions {
  /** Open read-only even where the file could be written. */
  readonly?: boolean;
  /** Run PRAGMA quick_check before anything is written (default true; with migrate: false, only when asked). */
  check?: boolean;
  /**
   * Apply pending migrations (default true). Job processes pass false: the main process upgrades
   * the log once, at start; a job that finds an older (or newer) schema refuses to touch it.
   */
  migrate?: boolean;
}

/**
 * Opens (or creates) the experiment log: WAL so readers never block the writer, a busy timeout
 * so a second process waits instead of failing with "database is locked", foreign keys on, and
 * every pending migration applied in its own transaction. A damaged log is refused before
 * anything is written to it; a log whose file or folder cannot be written is opened read-only.
 */
export function openDatabase(file: string, options: OpenOptions = {}): Db {
  if (file === ':memory:') {
    const db = new Database(file, withBinding({}));
    db.pragma('foreign_keys = ON');
    migrate(db);
    return db;
  }
  if (options.migrate === false) return openWithoutMigrating(file, options);
  const abs = path.resolve(file);
  const exists = fs.existsSync(abs);
  const readOnly = options.readonly ? 'opened read-only' : notWritable(abs, exists);
  if (!exists) {
    if (readOnly) throw new LogError(abs, `cannot be created (${readOnly})`, 'pick a writable folder with --db or PUMA_DB');
    try {
      fs.mkdirSync(path.dirname(abs), { recursive: true });
    } catch (e) {
      throw new LogError(
        abs,
        `its folder cannot be created (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
        'pick another place with --db or PUMA_DB',
      );
    }
  }
  const db = readOnly ? openReadOnly(abs, options.check !== false) : openWritable(abs, exists && options.check !== false);
  infos.set(db, { file: abs, readOnly });
  nameErrors(db, abs);
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  if (readOnly) {
    const current = schemaVersion(db);
    if (current < NEWEST_VERSION) {
      db.close();
      throw new LogError(
        abs,
        `is read-only (${readOnly}) and has schema version ${current}, older than this app's ${NEWEST_VERSION}`,
        'make it writable once so PUMA Lab can upgrade it',
      );
    }
    migrate(db); // refuses a newer schema
    return db;
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    migrate(db);
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

/**
 * A job's connection: the log must exist and have exactly this code's schema version; nothing is
 * created or upgraded (the main process does that once, at start).
 */
function openWithoutMigrating(file: string, options: OpenOptions): Db {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) throw new LogError(abs, 'does not exist', 'a job opens the log its app opened; start the run from PUMA Lab or `puma`');
  const db = connect(abs, { readonly: options.readonly === true, fileMustExist: true });
  infos.set(db, { file: abs, readOnly: options.readonly ? 'opened read-only' : null });
  nameErrors(db, abs);
  try {
    if (options.check === true) quickCheck(db, abs);
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    const current = schemaVersion(db);
    if (current !== NEWEST_VERSION) {
      const older = current < NEWEST_VERSION;
      throw new LogError(
        abs,
        `has schema version ${current}, ${older ? 'older' : 'newer'} than this job's ${NEWEST_VERSION}; the job does not ${older ? 'upgrade' : 'downgrade'} it`,
        older
          ? 'restart PUMA Lab (or run any `puma` command on this log) so the log is upgraded, then start the run again'
          : 'update PUMA Lab to run jobs on this log',
        'SCHEMA',
      );
    }
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

/** Why the log (or, when it does not exist yet, its nearest existing folder) cannot be written. */
function notWritable(abs: string, exists: boolean): string | null {
  const canWrite = (p: string): string | null => {
    try {
      fs.accessSync(p, fs.constants.W_OK);
      return null;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code ?? 'not writable';
    }
  };
  if (exists) {
    const f = canWrite(abs);
    if (f) return `the file is not writable: ${f}`;
  }
  // WAL keeps -wal and -shm files next to the log, so its folder must be writable too.
  let dir = path.dirname(abs);
  while (!fs.existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  const d = canWrite(dir);
  return d ? `its folder is not writable: ${d}` : null;
}

function openWritable(abs: string, check: boolean): Db {
  // The check runs on a read-only connection: closing it can never write into a damaged file.
  if (check) {
    const sidecars = [`${abs}-wal`, `${abs}-shm`].filter((f) => !fs.existsSync(f));
    const probe = connect(abs, { readonly: true, fileMustExist: true });
    try {
      quickCheck(probe, abs);
    } catch (e) {
      probe.close();
      // A refused log is left as we found it: no -wal/-shm files of ours beside it.
      for (const f of sidecars) fs.rmSync(f, { force: true });
      throw e;
    }
    probe.close();
  }
  return connect(abs, {});
}

/**
 * A read-only connection. A WAL log in a read-only folder cannot be opened in place (SQLite must
 * create its -shm file there), so then a snapshot copy in the temp folder is read instead.
 */
function openReadOnly(abs: string, check: boolean): Db {
  let db = connect(abs, { readonly: true, fileMustExist: true });
  try {
    db.prepare('SELECT COUNT(*) FROM sqlite_master').get();
  } catch (e) {
    db.close();
    if ((e as { code?: string }).code !== 'SQLITE_CANTOPEN') throw nameLogError(e, abs);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'puma-readonly-log-'));
    const copy = path.join(tmp, path.basename(abs));
    fs.copyFileSync(abs, copy);
    if (fs.existsSync(`${abs}-wal`)) fs.copyFileSync(`${abs}-wal`, `${copy}-wal`);
    db = connect(copy, { readonly: true, fileMustExist: true });
    const close = db.close.bind(db);
    db.close = () => {
      close();
      fs.rmSync(tmp, { recursive: true, force: true });
      return db;
    };
  }
  if (check) {
    try {
      quickCheck(db, abs);
    } catch (e) {
      db.close();
      throw e;
    }
  }
  return db;
}

/** Under Electron, its own ABI's build of better-sqlite3 (native-binding.ts); Node's default otherwise. */
function withBinding(opts: Database.Options): Database.Options {
  const nativeBinding = nativeBindingPath();
  return nativeBinding ? { ...opts, nativeBinding } : opts;
}

function connect(file: string, opts: Database.Options): Db {
  const options = withBinding(opts); // a missing Electron build is its own error, not the log's
  try {
    return new Database(file, options);
  } catch (e) {
    throw nameLogError(e, file);
  }
}

/** PRAGMA quick_check (B-tree pages, cells, free list; no index content): anything but "ok" refuses the log. */
function quickCheck(db: Db, abs: string): void {
  let rows: Array<{ quick_check: string }>;
  try {
    rows = db.pragma('quick_check(5)') as Array<{ quick_check: string }>;
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    if (/^SQLITE_(CORRUPT|NOTADB)/.test(code))
      throw new LogError(abs, `is damaged or not an SQLite database (${(e as Error).message})`, HINTS.SQLITE_CORRUPT!, code);
    throw nameLogError(e, abs);
  }
  if (rows.length !== 1 || rows[0]!.quick_check !== 'ok') {
    const found = rows.map((r) => r.quick_check).join('; ');
    throw new LogError(
      abs,
      `is damaged (quick_check: ${found.length > 300 ? `${found.slice(0, 300)}…` : found}); nothing was written to it`,
      HINTS.SQLITE_CORRUPT!,
      'SQLITE_CORRUPT',
    );
  }
}

/**
 * Every SQLite error from this connection names the log: prepare, the statements' run/get/all/
 * iterate, exec, pragma and transactions (a failing COMMIT too) rethrow it named.
 */
function nameErrors(db: Db, file: string): void {
  const named =
    <A extends unknown[], R>(f: (...a: A) => R) =>
    (...a: A): R => {
      try {
        return f(...a);
      } catch (e) {
        throw nameLogError(e, file);
      }
    };
  const prepare = db.prepare.bind(db);
  db.prepare = ((sql: string) => {
    const stmt = named(prepare)(sql) as Database.Statement;
    stmt.run = named(stmt.run.bind(stmt)) as typeof stmt.run;
    stmt.get = named(stmt.get.bind(stmt)) as typeof stmt.get;
    stmt.all = named(stmt.all.bind(stmt)) as typeof stmt.all;
    stmt.iterate = named(stmt.iterate.bind(stmt)) as typeof stmt.iterate;
    return stmt;
  }) as Db['prepare'];
  db.exec = named(db.exec.bind(db)) as Db['exec'];
  db.pragma = named(db.pragma.bind(db)) as Db['pragma'];
  const transaction = db.transaction.bind(db);
  db.transaction = ((fn: (...a: unknown[]) => unknown) => {
    const t = transaction(fn);
    return Object.assign(named(t), {
      default: named(t.default),
      deferred: named(t.deferred),
      immediate: named(t.immediate),
      exclusive: named(t.exclusive),
    });
  }) as Db['transaction'];
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Applies every migration past the log's version, each in its own transaction (`upTo`: stop there; tests build old logs with it). */
export function migrate(db: Db, upTo = NEWEST_VERSION): void {
  const current = schemaVersion(db);
  if (current > NEWEST_VERSION) {
    throw new LogError(
      logInfo(db).file,
      `has schema version ${current}, newer than this app knows (${NEWEST_VERSION})`,
      'update PUMA Lab to open it',
      'SCHEMA',
    );
  }
  for (const m of migrations) {
    if (m.version <= current || m.version > upTo) continue;
    db.transaction(() => {
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}
