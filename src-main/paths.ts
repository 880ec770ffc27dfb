import os from 'node:os';
import path from 'node:path';

/** The OS app-data folder for PUMA Lab (PUMA_HOME overrides it, e.g. for tests). */
export function appDataDir(): string {
  if (process.env.PUMA_HOME) return path.resolve(process.env.PUMA_HOME);
  const home = os.homedir();
  if (process.platform === 'win32') return path.join(process.env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'PUMA Lab');
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'PUMA Lab');
  return path.join(process.env.XDG_DATA_HOME ?? path.join(home, '.local', 'share'), 'puma-lab');
}

/** The experiment log's file: --db beats PUMA_DB beats the app-data default. */
export function defaultDbPath(): string {
  return process.env.PUMA_DB ? path.resolve(process.env.PUMA_DB) : path.join(appDataDir(), 'puma.db');
}

/** Where imported datasets, models, margin arrays and checkpoints are kept. */
export function dataDir(dbPath: string): string {
  return dbPath === ':memory:' ? path.join(appDataDir(), 'data') : path.join(path.dirname(path.resolve(dbPath)), 'data');
}
