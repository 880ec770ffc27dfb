import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ipcChannel } from '../../../src-shared/api/channels';
import { ConfigError } from '../../../src-shared/domain/field-errors';
import { CliError } from '../../../src-main/cli/args';
import { EXIT_BAD_INPUT, EXIT_FAULT, reportCliError } from '../../../src-main/cli/errors';
import { answerFor, BadRequest, Conflict, INTERNAL_MESSAGE, LogError, NotFound } from '../../../src-shared/api/errors';
import path from 'node:path';
import { forkJobLauncher } from '../../../src-main/jobs/fork-launcher';
import { PumaApp } from '../../../src-main/services/app';
import { ipcRejection, registerIpcHandlers, type IpcEventLike } from '../../../src-main/transport/ipc';
import { tempDir } from '../../helpers/tmp';

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
    [
      'a wrong config',
      new ConfigError('training config', [
        { key: 'epochs', known: true, path: ['epochs'], problem: 'must be at least 1', message: 'epochs: must be at least 1' },
      ]),
      400,
      'training config: epochs: must be at least 1',
    ],
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

describe("IPC answers the app's errors through the same table", () => {
  it('rejects runs.get of an unknown id with the 404 and its message; a known id resolves', async () => {
    const t = tempDir('puma-ipc-errors-');
    const app = new PumaApp({ dbPath: path.join(t.dir, 'log.db'), launcher: forkJobLauncher(), mode: 'electron' });
    try {
      const handlers = new Map<string, (event: IpcEventLike, payload: unknown) => unknown>();
      registerIpcHandlers({ handle: (channel, listener) => void handlers.set(channel, listener) }, app, () => true);
      const invoke = (op: string, payload: unknown) => Promise.resolve(handlers.get(ipcChannel(op))!({ senderFrame: { url: 'app://puma' } }, payload));
      await expect(invoke('runs.get', { id: 99999 })).rejects.toMatchObject({ status: 404, message: 'Run 99999 does not exist in the experiment log.' });
      await expect(invoke('runs.get', { id: 'x' })).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/^Invalid request for runs\.get/) });
      const id = app.runs.create({ kind: 'perceptron', name: 'known', config: {}, appVersion: 'test' });
      await expect(invoke('runs.get', { id })).resolves.toMatchObject({ id, name: 'known' });
    } finally {
      app.close();
      t.cleanup();
    }
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
