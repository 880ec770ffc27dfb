/**
 * Electron's binary cannot run here, so the Electron side runs against a mocked `electron`
 * module (as electron/fiddle tests do): the window's options, every contract operation
 * registered as an IPC handler, and refused payloads and senders.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ipcChannel, operationNames } from '../../../src-shared/api/contract';
import { tempDir } from '../../helpers/tmp';

type Handler = (event: { senderFrame: { url: string } | null }, payload: unknown) => Promise<unknown>;

const mock = vi.hoisted(() => {
  const handlers = new Map<string, Handler>();
  const windows: Array<{ options: Record<string, unknown> }> = [];
  const cspListeners: Array<(d: unknown, cb: (r: unknown) => void) => void> = [];
  return { handlers, windows, cspListeners };
});

vi.mock('electron', () => {
  class BrowserWindow {
    webContents = {
      send: vi.fn(),
      setWindowOpenHandler: vi.fn(),
      on: vi.fn(),
    };
    constructor(public options: Record<string, unknown>) {
      mock.windows.push(this);
    }
    isDestroyed = () => false;
    once = vi.fn();
    loadURL = vi.fn(async () => undefined);
    loadFile = vi.fn(async () => undefined);
  }
  const api = {
    app: { whenReady: () => Promise.resolve(), getPath: () => '/nonexistent', on: vi.fn(), quit: vi.fn() },
    BrowserWindow,
    ipcMain: { handle: (ch: string, h: Handler) => mock.handlers.set(ch, h) },
    session: { defaultSession: { webRequest: { onHeadersReceived: (l: (d: unknown, cb: (r: unknown) => void) => void) => mock.cspListeners.push(l) } } },
    shell: { openExternal: vi.fn() },
    dialog: { showOpenDialog: vi.fn(async () => ({ canceled: true, filePaths: [] })) },
    utilityProcess: { fork: vi.fn() },
  };
  return { ...api, default: api };
});

let cleanup: () => void;
beforeAll(async () => {
  const t = tempDir();
  cleanup = t.cleanup;
  process.env.PUMA_DB = path.join(t.dir, 'electron.db');
  await import('../../../src-main/app/main');
  await vi.waitFor(() => expect(mock.windows.length).toBe(1));
});
afterAll(() => {
  delete process.env.PUMA_DB;
  cleanup();
});

const trusted = { senderFrame: { url: 'file:///opt/puma/out/renderer/index.html' } };

describe('Electron main process (mocked electron)', () => {
  it('opens an isolated, sandboxed window without Node integration', () => {
    const prefs = mock.windows[0].options.webPreferences as Record<string, unknown>;
    expect(prefs.contextIsolation).toBe(true);
    expect(prefs.sandbox).toBe(true);
    expect(prefs.nodeIntegration).toBe(false);
    expect(String(prefs.preload)).toMatch(/preload[\\/]index\.cjs$/);
  });

  it('sets a Content-Security-Policy on every response', () => {
    let headers: Record<string, string[]> = {};
    mock.cspListeners[0]({ responseHeaders: {} }, (r) => (headers = (r as { responseHeaders: Record<string, string[]> }).responseHeaders));
    expect(headers['Content-Security-Policy'][0]).toMatch(/default-src 'self'; script-src 'self'/);
  });

  it('registers every contract operation as an IPC handler', () => {
    for (const op of operationNames) expect(mock.handlers.has(ipcChannel(op)), op).toBe(true);
    expect(mock.handlers.size).toBe(operationNames.length);
  });

  it('answers valid requests from its own window', async () => {
    const info = (await mock.handlers.get(ipcChannel('app.info'))!(trusted, {})) as { mode: string };
    expect(info.mode).toBe('electron');
    expect(await mock.handlers.get(ipcChannel('runs.list'))!(trusted, {})).toEqual([]);
  });

  it('refuses invalid payloads', async () => {
    const start = mock.handlers.get(ipcChannel('perceptron.start'))!;
    await expect(start(trusted, { config: { k: 'lots' } })).rejects.toThrow(/Invalid request/);
    await expect(start(trusted, null)).rejects.toThrow(/Invalid request/);
    await expect(mock.handlers.get(ipcChannel('runs.get'))!(trusted, { id: -1 })).rejects.toThrow(/Invalid request/);
  });

  it('refuses requests from other frames', async () => {
    await expect(mock.handlers.get(ipcChannel('runs.list'))!({ senderFrame: { url: 'https://evil.example/' } }, {})).rejects.toThrow(/Refused/);
    await expect(mock.handlers.get(ipcChannel('runs.list'))!({ senderFrame: null }, {})).rejects.toThrow(/Refused/);
  });
});
