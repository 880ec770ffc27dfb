import type { Db } from '../db';
import type { ModelAccuracy, ModelInfo, ModelSource } from '../../../src-shared/domain/models';

interface ModelRow {
  id: number;
  name: string;
  source: string;
  provenance_json: string;
  height: number;
  width: number;
  channels: number;
  num_classes: number;
  dropped_softmax: number;
  hash: string;
  storage_dir: string;
  params: number;
  accuracy_json: string | null;
  created_at: string;
}

export type NewModel = Omit<ModelInfo, 'id' | 'createdAt'>;

function fromRow(r: ModelRow): ModelInfo {
  return {
    id: r.id,
    name: r.name,
    source: r.source as ModelSource,
    provenance: JSON.parse(r.provenance_json) as ModelInfo['provenance'],
    inputShape: [r.height, r.width, r.channels],
    numClasses: r.num_classes,
    droppedSoftmax: r.dropped_softmax === 1,
    hash: r.hash,
    storageDir: r.storage_dir,
    params: r.params,
    accuracy: r.accuracy_json ? (JSON.parse(r.accuracy_json) as ModelAccuracy) : null,
    createdAt: r.created_at,
  };
}

/** The `models` table: margin models and where their files are. */
export class ModelsRepo {
  constructor(private readonly db: Db) {}

  create(m: NewModel): number {
    const info = this.db
      .prepare(
        `INSERT INTO models (name, source, provenance_json, height, width, channels, num_classes, dropped_softmax, hash, storage_dir, params, accuracy_json, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        m.name,
        m.source,
        JSON.stringify(m.provenance),
        m.inputShape[0],
        m.inputShape[1],
        m.inputShape[2],
        m.numClasses,
        m.droppedSoftmax ? 1 : 0,
        m.hash,
        m.storageDir,
        m.params,
        m.accuracy ? JSON.stringify(m.accuracy) : null,
        new Date().toISOString(),
      );
    return Number(info.lastInsertRowid);
  }

  get(id: number): ModelInfo | undefined {
    const row = this.db.prepare('SELECT * FROM models WHERE id = ?').get(id) as ModelRow | undefined;
    return row && fromRow(row);
  }

  getByName(name: string): ModelInfo | undefined {
    const row = this.db.prepare('SELECT * FROM models WHERE name = ?').get(name) as ModelRow | undefined;
    return row && fromRow(row);
  }

  list(): ModelInfo[] {
    return (this.db.prepare('SELECT * FROM models ORDER BY id').all() as ModelRow[]).map(fromRow);
  }

  setAccuracy(id: number, accuracy: ModelAccuracy): void {
    this.db.prepare('UPDATE models SET accuracy_json = ? WHERE id = ?').run(JSON.stringify(accuracy), id);
  }

  remove(id: number): void {
    this.db.prepare('DELETE FROM models WHERE id = ?').run(id);
  }
}
