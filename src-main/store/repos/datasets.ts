import type { Db } from '../db';
import type { DatasetFormat, DatasetInfo } from '../../../src-shared/domain/datasets';

interface DatasetRow {
  id: number;
  name: string;
  format: string;
  source_path: string;
  hash: string;
  storage_dir: string;
  height: number;
  width: number;
  channels: number;
  classes_json: string;
  splits_json: string;
  generated_for: number | null;
  created_at: string;
}

export type NewDataset = Omit<DatasetInfo, 'id' | 'createdAt'>;

function fromRow(r: DatasetRow): DatasetInfo {
  return {
    id: r.id,
    name: r.name,
    format: r.format as DatasetFormat,
    sourcePath: r.source_path,
    hash: r.hash,
    shape: [r.height, r.width, r.channels],
    classes: JSON.parse(r.classes_json) as string[],
    splits: JSON.parse(r.splits_json) as DatasetInfo['splits'],
    generatedFor: r.generated_for,
    storageDir: r.storage_dir,
    createdAt: r.created_at,
  };
}

/** The `datasets` table: manifests of imported datasets. */
export class DatasetsRepo {
  constructor(private readonly db: Db) {}

  insert(d: NewDataset, createdAt = new Date().toISOString()): DatasetInfo {
    const info = this.db
      .prepare(
        `INSERT INTO datasets (name, format, source_path, hash, storage_dir, height, width, channels,
           classes_json, splits_json, generated_for, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        d.name,
        d.format,
        d.sourcePath,
        d.hash,
        d.storageDir,
        d.shape[0],
        d.shape[1],
        d.shape[2],
        JSON.stringify(d.classes),
        JSON.stringify(d.splits),
        d.generatedFor,
        createdAt,
      );
    return this.get(Number(info.lastInsertRowid))!;
  }

  get(id: number): DatasetInfo | undefined {
    const r = this.db.prepare('SELECT * FROM datasets WHERE id = ?').get(id) as DatasetRow | undefined;
    return r && fromRow(r);
  }

  getByName(name: string): DatasetInfo | undefined {
    const r = this.db.prepare('SELECT * FROM datasets WHERE name = ?').get(name) as DatasetRow | undefined;
    return r && fromRow(r);
  }

  list(): DatasetInfo[] {
    return (this.db.prepare('SELECT * FROM datasets ORDER BY id').all() as DatasetRow[]).map(fromRow);
  }

  /** Generated sets attached to a base dataset. */
  generatedFor(baseId: number): DatasetInfo[] {
    return (this.db.prepare('SELECT * FROM datasets WHERE generated_for = ? ORDER BY id').all(baseId) as DatasetRow[]).map(fromRow);
  }

  /** How many rows still point at a storage folder (content-hashed folders are shared). */
  countByStorageDir(dir: string): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM datasets WHERE storage_dir = ?').get(dir) as { n: number }).n;
  }

  delete(id: number): void {
    this.db.prepare('DELETE FROM datasets WHERE id = ?').run(id);
  }
}
