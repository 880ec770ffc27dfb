/**
 * The errors PUMA Lab answers with, and the one table that turns each into an answer: an HTTP
 * status (transport/http.ts), an IPC rejection (transport/ipc.ts) and the `puma` command's exit
 * code (cli/errors.ts) all come from `answerFor`. Services say what went wrong by the class they
 * throw, never by the words of the message: the message is written for the user and is passed on
 * as it is.
 *
 * It lives in src-shared (no Node, no Electron) so that every layer of main may import it: the
 * store throws NotFound, the transports answer with it.
 */
import { ConfigError } from '../domain/field-errors';

/** The request names something the experiment log does not hold (an unknown id or name). */
export class NotFound extends Error {
  readonly status = 404;
}

/** The request itself is wrong (a field, a path, a config): the caller must change it. */
export class BadRequest extends Error {
  readonly status = 400;
}

/** The request is fine but clashes with what the log holds now (a name taken, a run still running). */
export class Conflict extends Error {
  readonly status = 409;
}

/**
 * A fault of the experiment log itself (damaged, read-only, unreadable, full): the message names
 * the file and says what to do. The CLI exits 2 on it; the server answers it and keeps serving.
 */
export class LogError extends Error {
  constructor(
    readonly file: string,
    problem: string,
    readonly hint: string,
    readonly code = 'LOG',
  ) {
    super(`experiment log ${file}: ${problem} — ${hint}`);
    this.name = 'LogError';
  }
}

/**
 * An error of the experiment log (LogError or an SQLite error, which store/db.ts names after the
 * log): its message is written for users. Told by better-sqlite3's class name and its SQLITE_ code.
 */
export function isLogFault(err: unknown): boolean {
  if (err instanceof LogError) return true;
  return err instanceof Error && err.name === 'SqliteError' && /^SQLITE_/.test(String((err as { code?: unknown }).code));
}

/** How one kind of error is answered. */
export interface ErrorAnswer {
  /** HTTP status; the IPC and CLI answers follow from it (< 500: the caller's to fix). */
  status: number;
  /** The message as the user sees it. */
  message: string;
  /** A fault of PUMA Lab (or of something it could not foresee): logged with its stack where it is answered. */
  internal: boolean;
}

/** Said instead of a programming error's own text (a TypeError's words help no user). */
export const INTERNAL_MESSAGE =
  'PUMA Lab could not finish this request (an internal error; the details are in the terminal running puma serve). Try again; if it keeps failing, report it with those details.';

/** The one table: error class → HTTP status. The first class the error is an instance of decides. */
export const ERROR_STATUS: ReadonlyArray<readonly [new (...args: never[]) => Error, number]> = [
  [NotFound, 404],
  [BadRequest, 400],
  [ConfigError, 400],
  [Conflict, 409],
  [LogError, 503],
];

/** True for the built-in classes our own code throws by mistake (TypeError, RangeError, …). */
export function isProgrammingError(err: Error): boolean {
  return err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError || err instanceof SyntaxError || err instanceof EvalError;
}

/**
 * The answer to an error. Typed errors take their status from ERROR_STATUS; a fault of the log
 * is 503 with its message (it names the log and what to do); a plain Error a service threw keeps
 * its message as a 500; anything else (a programming error, a library's own error class, a value
 * that is no Error) becomes INTERNAL_MESSAGE.
 */
export function answerFor(err: unknown): ErrorAnswer {
  if (err instanceof Error) {
    for (const [cls, status] of ERROR_STATUS) {
      if (err instanceof cls) return { status, message: err.message, internal: false };
    }
    if (isLogFault(err)) return { status: 503, message: err.message, internal: false };
    if (err.constructor === Error && err.message) return { status: 500, message: err.message, internal: true };
  }
  return { status: 500, message: INTERNAL_MESSAGE, internal: true };
}
