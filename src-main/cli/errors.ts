/**
 * One error format for the `puma` command: `puma: <message>` on stderr, where the message names
 * the file or flag and says what to do. Bad input (flags, files, configs, the experiment log,
 * run ids) exits 2; a fault of PUMA Lab itself (a TypeError, say) exits 1 and says so. Stack
 * traces only with --debug (or PUMA_DEBUG=1, which job processes inherit).
 */
import fs from 'node:fs';
import path from 'node:path';
import { answerFor, isProgrammingError } from '../../src-shared/api/errors';
import { CliError } from './args';

/** Exit codes the README promises. */
export const EXIT_BAD_INPUT = 2;
export const EXIT_FAULT = 1;

/** Takes --debug out of argv (any position) and turns it into PUMA_DEBUG for the job processes too. */
export function takeDebugFlag(argv: string[]): string[] {
  const rest = argv.filter((a) => a !== '--debug');
  if (rest.length !== argv.length) process.env.PUMA_DEBUG = '1';
  return rest;
}

export const debugEnabled = (): boolean => Boolean(process.env.PUMA_DEBUG) || process.argv.includes('--debug');

/**
 * Bad input exits 2: the typed errors of errors.ts the transports answer with a status below 500
 * (not found, invalid, conflict), a fault of the log (503: its message says what to do), and
 * any other error class (CliError, ZodError, the plain Errors services throw for input they
 * refuse). A
 * programming error (TypeError, RangeError, …) is a fault of ours: exit 1.
 */
function isBadInput(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (answerFor(err).status !== 500) return true;
  return !isProgrammingError(err);
}

/** Writes the error in the one format and returns the exit code. */
export function reportCliError(err: unknown, debug = debugEnabled()): number {
  const message = err instanceof Error ? err.message : String(err);
  const bad = isBadInput(err);
  const lines = [bad ? `puma: ${message}` : `puma: internal error: ${message}`];
  if (!bad)
    lines.push(
      `puma: this is a fault of PUMA Lab, not of your input; ${debug ? 'the stack trace follows' : 'run the command again with --debug to see where it happened'}.`,
    );
  if (debug && err instanceof Error && err.stack) lines.push(err.stack);
  process.stderr.write(`${lines.join('\n')}\n`);
  return bad ? EXIT_BAD_INPUT : EXIT_FAULT;
}

/**
 * The log a command names with --db (or PUMA_DB) must be in a folder that exists: a typo must
 * not create folders. The default log in the app-data folder is created as needed.
 */
export function checkLogFolder(argv: string[]): void {
  let explicit: string | undefined;
  let flag = '--db';
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--db' && argv[i + 1] !== undefined) explicit = argv[i + 1];
    else if (argv[i]!.startsWith('--db=')) explicit = argv[i]!.slice(5);
  }
  if (explicit === undefined && process.env.PUMA_DB) {
    explicit = process.env.PUMA_DB;
    flag = 'PUMA_DB';
  }
  if (explicit === undefined || explicit === ':memory:') return;
  const dir = path.dirname(path.resolve(explicit));
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(dir);
  } catch {
    /* missing */
  }
  if (!stat) throw new CliError(`${flag} ${explicit}: the folder ${dir} does not exist; create it first, or pick another place for the experiment log`);
  if (!stat.isDirectory()) throw new CliError(`${flag} ${explicit}: ${dir} is not a folder; pick another place for the experiment log`);
}
