import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, type Db } from '../../../src-main/store/db';
import { DatasetService, type DatasetServiceOptions } from '../../../src-main/services/datasets/service';

/** A temp PUMA data folder + temp sqlite file, removed by `cleanup`. */
export function tempService(opts: DatasetServiceOptions = {}): { db: Db; service: DatasetService; dir: string; dataDir: string; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'puma-datasets-'));
  const db = openDatabase(path.join(dir, 'puma.db'));
  const dataDir = path.join(dir, 'data');
  const service = new DatasetService(db, dataDir, opts);
  return {
    db,
    service,
    dir,
    dataDir,
    cleanup() {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Files left under the datasets folder (a failed import must leave none, temp folders included). */
export function storedEntries(dataDir: string): string[] {
  const root = path.join(dataDir, 'datasets');
  return fs.existsSync(root) ? fs.readdirSync(root) : [];
}
