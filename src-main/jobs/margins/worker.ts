/**
 * An extra worker process of a margin job (one per additional core): computes the chunks it is
 * sent and commits them to the log itself, reporting each to the job process.
 */
import { initEngine } from '../../engine';
import { computeAndCommitChunks } from '../../services/margins/compute';
import { openDatabase } from '../../store/db';
import { MarginsRepo } from '../../store/repos/margins';

export interface WorkerStart {
  type: 'start';
  dbPath: string;
  dataDir: string;
  setId: number;
  chunkIndices: number[];
  batchSize: number;
  backend?: string;
}
export type FromWorker =
  { type: 'chunk'; chunkIndex: number; count: number; gradEvals: number; seconds: number } | { type: 'done' } | { type: 'error'; message: string };

let stop = false;
const send = (m: FromWorker): void => void process.send?.(m);

process.on('message', (m: WorkerStart | { type: 'stop' }) => {
  if (m.type === 'stop') {
    stop = true;
    return;
  }
  void (async () => {
    try {
      await initEngine(m.backend);
      const db = openDatabase(m.dbPath, { migrate: false });
      try {
        const set = new MarginsRepo(db).get(m.setId);
        if (!set) throw new Error(`margin set ${m.setId} not found`);
        await computeAndCommitChunks({
          db,
          dataDir: m.dataDir,
          set,
          config: { batchSize: m.batchSize },
          chunkIndices: m.chunkIndices,
          onChunk: (c) => send({ type: 'chunk', ...c }),
          shouldStop: () => stop,
        });
      } finally {
        db.close();
      }
      send({ type: 'done' });
    } catch (e) {
      // The message reaches the run's record; the stack only stderr, with --debug (PUMA_DEBUG).
      if (process.env.PUMA_DEBUG && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
      send({ type: 'error', message: e instanceof Error ? e.message : String(e) });
    }
    setTimeout(() => process.exit(0), 50);
  })();
});
// The job process going away must not leave a worker computing.
process.on('disconnect', () => process.exit(0));
