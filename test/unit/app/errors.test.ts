import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../../src-shared/domain/field-errors';
import { CliError } from '../../../src-main/cli/args';
import { EXIT_BAD_INPUT, EXIT_FAULT, reportCliError } from '../../../src-main/cli/errors';
import { answerFor, BadRequest, Conflict, INTERNAL_MESSAGE, LogError, NotFound } from '../../../src-main/errors';
import { ipcRejection } from '../../../src-main/transport/ipc';

/** A real better-sqlite3 error, as the store throws it (a constraint fails). */
function sqliteError(): Error {
  const db = new Database(':memory:');
  try {
    db.exec('CREATE TABLE t (x INTEGER NOT NULL)');
    db.prepare('INSERT INTO t (x) VALUES (NULL)').run();
  } catch (e) {
    return e as Error;
  } finally {
    db.close();
  }
  throw new Error('the insert should have failed');
}

describe('answerFor: the one table from error to answer', () => {
  const cases: Array<[string, unknown, number, string]> = [
    ['an unknown id', new NotFound('Run 9 does not exist in the experiment log.'), 404, 'Run 9 does not exist in the experiment log.'],
    ['a wrong request', new BadRequest('path: refused'), 400, 'path: refused'],
    ['a wrong config', new ConfigError('training config', [{ key: 'epochs', known: true, path: ['epochs'], problem: 'must be at least 1', message: 'epochs: must be at least 1' }]), 400, 'training config: epochs: must be at least 1'],
    ['a clash with the log', new Conflict('Run 3 is running; only a stopped run can be retried.'), 409, 'Run 3 is running; only a stopped run can be retried.'],
    ['a fault of the log', new LogError('/x/log.db', 'is damaged', 'restore a backup'), 503, 'experiment log /x/log.db: is damaged — restore a backup'],
    ['a message a service wrote', new Error('The store is busy'), 500, 'The store is busy'],
    ['a programming error', new TypeError("Cannot read properties of undefined (reading 'x')"), 500, INTERNAL_MESSAGE],
    ['a thrown string', 'oops', 500, INTERNAL_MESSAGE],
  ];
  it.each(cases)('%s', (_what, err, status, message) => {
    expect(answerFor(err)).toMatchObject({ status, message });
  });

  it('takes an SQLite error for a fault of the log by its class and code, not its words', () => {
    const err = sqliteError();
    expect((err as { code?: string }).code).toMatch(/^SQLITE_CONSTRAINT/);
    expect(answerFor(err)).toEqual({ status: 503, message: err.message, internal: false });
  });

  it('decides by class: the same words in a plain Error are no 404', () => {
    expect(answerFor(new Error('Run 9 does not exist in the experiment log.')).status).toBe(500);
  });
});

describe('the IPC rejection', () => {
  it('carries the same message and status as the HTTP answer', () => {
    const rejection = ipcRejection('runs.get', new NotFound('Run 9 does not exist in the experiment log.'));
    expect(rejection).toBeInstanceOf(Error);
    expect(rejection.message).toBe('Run 9 does not exist in the experiment log.');
    expect(rejection.status).toBe(404);
  });
  it('hides a programming error behind the internal message', () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    const rejection = ipcRejection('runs.list', new TypeError('x is undefined'));
    expect(rejection).toMatchObject({ message: INTERNAL_MESSAGE, status: 500 });
    expect(spy).toHaveBeenCalledOnce();
    spy.mockRestore();
  });
});

describe('the CLI exit code follows the same classes', () => {
  let write: ReturnType<typeof vi.spyOn>;
  beforeEach(() => {
    write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => write.mockRestore());

  it.each([
    ['NotFound', new NotFound('Run 9 does not exist in the experiment log.')],
    ['BadRequest', new BadRequest('path: refused')],
    ['Conflict', new Conflict('Run 3 is running')],
    ['LogError', new LogError('/x/log.db', 'is damaged', 'restore a backup')],
    ['CliError', new CliError('--k: not a number')],
  ])('%s is bad input: exit 2 with the message', (_name, err) => {
    expect(reportCliError(err, false)).toBe(EXIT_BAD_INPUT);
    expect(String(write.mock.calls[0]![0])).toBe(`puma: ${err.message}\n`);
  });

  it('a TypeError is a fault of ours: exit 1', () => {
    expect(reportCliError(new TypeError('x is undefined'), false)).toBe(EXIT_FAULT);
    expect(String(write.mock.calls[0]![0])).toMatch(/^puma: internal error: x is undefined\npuma: this is a fault of PUMA Lab/);
  });
});
