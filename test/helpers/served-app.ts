import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { forkJobLauncher } from '../../src-main/jobs/fork-launcher';
import { PumaApp } from '../../src-main/services/app';
import { startHttpServer, type RunningServer } from '../../src-main/transport/http';
import { launchChromium } from './browser';
import { tempDir } from './tmp';

/** The browser mode as a user gets it: a fresh log, the served UI, and a Chromium page on it. */
export interface ServedApp {
  app: PumaApp;
  server: RunningServer;
  browser: Browser;
  page: Page;
  dir: string;
  close(): Promise<void>;
}

export async function startServedApp(viewport = { width: 1280, height: 1000 }): Promise<ServedApp> {
  const { dir, cleanup } = tempDir();
  const app = new PumaApp({ dbPath: path.join(dir, 'e2e.db'), launcher: forkJobLauncher(), mode: 'browser' });
  const server = await startHttpServer({ app, staticDir: path.resolve('out/renderer') });
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport, acceptDownloads: true });
  return {
    app,
    server,
    browser,
    page,
    dir,
    close: async () => {
      await browser.close();
      await server.close();
      app.close();
      cleanup();
    },
  };
}
