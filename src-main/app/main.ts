/**
 * Electron entry: the only code that imports electron. It builds the window and wires the two
 * Electron pieces (IPC and utilityProcess jobs) to the same PumaApp that browser mode uses.
 */
import { app, BrowserWindow, dialog, ipcMain, session, shell, utilityProcess } from 'electron';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PumaApp } from '../services/app';
import { defaultDbPath } from '../paths';
import { entryFile } from '../processes';
import { forwardEvents, registerIpcHandlers } from '../transport/ipc';
import type { FromJob, JobLauncher } from '../jobs/protocol';
import { CONTENT_SECURITY_POLICY, denyPermissions, lockContents, mainWindowOptions } from './window';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Jobs run in Electron utility processes: off the main thread, and a crash only ends the job. */
const utilityLauncher: JobLauncher = () => {
  const child = utilityProcess.fork(entryFile('job').file, [], { serviceName: 'PUMA Lab job', stdio: 'inherit' });
  return {
    get pid() {
      return child.pid ?? null;
    },
    send: (m) => child.postMessage(m),
    onMessage: (l) => child.on('message', (m: unknown) => l(m as FromJob)),
    onExit: (l) => child.on('exit', (code: number) => l(code, null)),
    kill: () => void child.kill(),
  };
};

function rendererUrl(): string | null {
  return process.env.ELECTRON_RENDERER_URL ?? null;
}

function isTrustedUrl(url: string): boolean {
  const dev = rendererUrl();
  if (dev && url.startsWith(dev)) return true;
  return url.startsWith('file://') && decodeURIComponent(url).includes(path.join('out', 'renderer'));
}

export async function startElectronApp(): Promise<void> {
  // Every renderer sandboxed, whatever its options say (must precede 'ready').
  app.enableSandbox();
  // Locked as each is created, before any page can load in it.
  app.on('web-contents-created', (_event, contents) => lockContents(contents, (url) => void shell.openExternal(url)));
  await app.whenReady();
  denyPermissions(session.defaultSession);
  const dbPath = process.env.PUMA_DB ?? path.join(app.getPath('userData'), 'puma.db');
  let puma: PumaApp;
  try {
    puma = new PumaApp({ dbPath: dbPath ?? defaultDbPath(), launcher: utilityLauncher, mode: 'electron' });
  } catch (err) {
    // A damaged or unreadable log: say which and what to do rather than never open a window.
    dialog.showErrorBox('PUMA Lab cannot open its experiment log', (err as Error).message);
    app.exit(2);
    return;
  }
  registerIpcHandlers(ipcMain, puma, isTrustedUrl);

  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } });
  });

  const win = new BrowserWindow(mainWindowOptions(path.join(here, '../preload/index.cjs')));
  // 'dialog.pickPath': the only way the window names a file to import (main remembers the choice)
  puma.pathPicker = async ({ kind, title }) => {
    const r = await dialog.showOpenDialog(win, { title, properties: [kind === 'folder' ? 'openDirectory' : 'openFile'] });
    return r.canceled ? null : (r.filePaths[0] ?? null);
  };
  forwardEvents(puma, (channel, message) => {
    if (!win.isDestroyed()) win.webContents.send(channel, message);
  });
  win.once('ready-to-show', () => win.show());
  const dev = rendererUrl();
  if (dev) await win.loadURL(dev);
  else await win.loadFile(path.join(here, '../renderer/index.html'));
  puma.start();

  app.on('window-all-closed', () => {
    puma.close();
    app.quit();
  });
}

void startElectronApp();
