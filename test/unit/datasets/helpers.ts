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

/**
 * The import fails with a message naming `file` and matching `problem`, and leaves nothing
 * behind: no dataset row, no temp folder, no stored folder.
 */
export async function expectImportRejected(
  t: ReturnType<typeof tempService>,
  req: Parameters<DatasetService['importDataset']>[0],
  file: string,
  problem: RegExp,
): Promise<string> {
  const before = t.service.list().length;
  const storedBefore = storedEntries(t.dataDir).length;
  const err = await t.service.importDataset(req).then(
    () => null,
    (e: Error) => e,
  );
  if (!err) throw new Error(`the import of ${req.path} should have failed`);
  if (!err.message.includes(file)) throw new Error(`the error should name ${file}: ${err.message}`);
  if (!problem.test(err.message)) throw new Error(`the error should match ${problem}: ${err.message}`);
  if (t.service.list().length !== before) throw new Error('a dataset row was created');
  if (storedEntries(t.dataDir).length !== storedBefore) throw new Error(`files were left in the data folder: ${storedEntries(t.dataDir).join(', ')}`);
  return err.message;
}
