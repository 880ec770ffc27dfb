import path from 'node:path';
import { forkJobLauncher } from '../jobs/fork-launcher';
import { defaultDbPath } from '../paths';
import { PumaApp } from '../services/app';

/**
 * The app every `puma` command works on: the log named by --db (else $PUMA_DB, else the default),
 * jobs in forked processes, browser-mode path rules. Commands take the services from it.
 */
export function openCliApp(db: string | undefined, options: { concurrency?: number } = {}): PumaApp {
  return new PumaApp({ dbPath: db ? path.resolve(db) : defaultDbPath(), launcher: forkJobLauncher(), mode: 'browser', ...options });
}
