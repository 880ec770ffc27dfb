/**
 * Electron's binary cannot run here, so the Electron side runs against a mocked `electron`
 * module (as electron/fiddle tests do): the window's options, every contract operation
 * registered as an IPC handler, refused payloads and senders, and the hardening handlers
 * (webviews, navigation, new windows, permissions) refusing.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ipcChannel, operationNames } from '../../../src-shared/api/contract';
import { tempDir } from '../../helpers/tmp';

type Handler = (event: { senderFrame: { url: string } | null }, payload: unknown) => Promise<unknown>;

const mock = vi.hoisted(() => {
  const handlers = new Map<string, Handler>();
  const windows: Array<{ options: Record<string, unknown>; webContents: FakeContents }> = [];
  const cspListeners: Array<(d: unknown, cb: (r: unknown) => void) => void> = [];
  const appListeners = new Map<string, Array<(...args: unknown[]) => void>>();
  const permissions: { request?: (...args: unknown[]) => void; check?: (...args: unknown[]) => unknown } = {};
  const sandboxed = { all: false };
  return { handlers, windows, cspListeners, appListeners, permissions, sandboxed };
});

type Listener = (event: { preventDefault: () => void }, ...args: unknown[]) => void;
/** A web contents that records its listeners, like Electron's. */
function fakeContents() {
  const listeners = new Map<string, Listener[]>();
  return {
    listeners,
    openHandler: null as null | ((d: { url: string }) => { action: string }),
    send: vi.fn(),
    setWindowOpenHandler(h: (d: { url: string }) => { action: string }) {
      this.openHandler = h;
    },
    on(event: string, l: Listener) {
      listeners.set(event, [...(listeners.get(event) ?? []), l]);
      return this;
    },
  };
}
type FakeContents = ReturnType<typeof fakeContents>;

/** Fires `event` at every listener the app installed; whether one of them refused it. */
function refused(contents: FakeContents, event: string, ...args: unknown[]): boolean {
  const ls = contents.listeners.get(event) ?? [];
  expect(ls.length, `listeners of ${event}`).toBeGreaterThan(0);
  let prevented = false;
  for (const l of ls) l({ preventDefault: () => (prevented = true) }, ...args);
  return prevented;
}

vi.mock('electron', () => {
  class BrowserWindow {
    webContents = fakeContents();
    constructor(public options: Record<string, unknown>) {
      mock.windows.push(this);
      // as in Electron, the app hears of each new web contents
      for (const l of mock.appListeners.get('web-contents-created') ?? []) l({}, this.webContents);
    }
    isDestroyed = () => false;
    once = vi.fn();
    loadURL = vi.fn(async () => undefined);
    loadFile = vi.fn(async () => undefined);
  }
  const api = {
    app: {
      whenReady: () => Promise.resolve(),
      getPath: () => '/nonexistent',
      on: (event: string, l: (...args: unknown[]) => void) => mock.appListeners.set(event, [...(mock.appListeners.get(event) ?? []), l]),
      quit: vi.fn(),
      enableSandbox: () => (mock.sandboxed.all = true),
    },
    BrowserWindow,
    ipcMain: { handle: (ch: string, h: Handler) => mock.handlers.set(ch, h) },
    session: {
      defaultSession: {
        webRequest: { onHeadersReceived: (l: (d: unknown, cb: (r: unknown) => void) => void) => mock.cspListeners.push(l) },
        setPermissionRequestHandler: (h: (...args: unknown[]) => void) => (mock.permissions.request = h),
        setPermissionCheckHandler: (h: (...args: unknown[]) => unknown) => (mock.permissions.check = h),
      },
    },
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

  it('sandboxes every renderer', () => {
    expect(mock.sandboxed.all).toBe(true);
  });

  it('refuses <webview>, navigation away and new windows in the app window', () => {
    const contents = mock.windows[0].webContents;
    expect(refused(contents, 'will-attach-webview', {}, { src: 'https://evil.example/' })).toBe(true);
    expect(refused(contents, 'will-navigate', 'https://evil.example/')).toBe(true);
    expect(refused(contents, 'will-navigate', 'file:///etc/passwd')).toBe(true);
    expect(contents.openHandler!({ url: 'https://example.org/paper' })).toEqual({ action: 'deny' });
    expect(contents.openHandler!({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' });
  });

  it('locks any other web contents created later the same way', () => {
    const other = fakeContents();
    for (const l of mock.appListeners.get('web-contents-created') ?? []) l({}, other);
    expect(refused(other, 'will-attach-webview', {}, {})).toBe(true);
    expect(refused(other, 'will-navigate', 'https://evil.example/')).toBe(true);
    expect(other.openHandler!({ url: 'https://evil.example/' })).toEqual({ action: 'deny' });
  });

  it('denies every permission request and check', () => {
    for (const permission of ['media', 'geolocation', 'notifications', 'openExternal', 'fileSystem']) {
      const answer = vi.fn();
      mock.permissions.request!({}, permission, answer, {});
      expect(answer, permission).toHaveBeenCalledExactlyOnceWith(false);
      expect(mock.permissions.check!({}, permission, 'file://', {}), permission).toBe(false);
    }
  });
});
