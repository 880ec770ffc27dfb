import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { MarginJobConfig } from '../../../src-shared/domain/margins';
import { initEngine } from '../../engine';
import { canForkWorkers, forkEntry } from '../../processes';
import { summarizeMargins, writeNpyFloat32 } from '../../engine/margins';
import { computeAndCommitChunks, type ChunkDone } from '../../services/margins/compute';
import type { FromWorker, WorkerStart } from './worker';
import { openDatabase } from '../../store/db';
import { MarginsRepo } from '../../store/repos/margins';
import { JobCancelled, type JobHandler } from '../context';
import { formatDuration } from '../../../src-shared/domain/duration';

const FILE = 'src-main/jobs/margins/job.ts';

/**
 * Margins of one dataset part. Chunks already committed (an earlier, interrupted run) are
 * skipped; the rest are split round-robin between this process and `workers − 1` forked workers,
 * each committing its chunks as they finish. At the end the margins are written, in dataset
 * order, to a float32 .npy under the data folder and the set is completed with its summary.
 */
export const marginsJob: JobHandler = async (ctx, rawConfig) => {
  const config = MarginJobConfig.parse(rawConfig);
  if (config.marginSetId === undefined) throw new Error(`${FILE}: the job config has no marginSetId (start margin jobs through the margins service)`);
  const engine = await initEngine(config.backend);
  const db = openDatabase(ctx.dbPath, { migrate: false });
  const workers: ChildProcess[] = [];
  try {
    const repo = new MarginsRepo(db);
    const set = repo.get(config.marginSetId);
    if (!set) throw new Error(`${FILE}: margin set ${config.marginSetId} is not in the log`);
    const nWorkers = canForkWorkers() ? Math.max(1, config.workers) : 1; // (the packaged app cannot fork)
    ctx.environment(engine.backend, `${engine.device}${nWorkers > 1 ? ` × ${nWorkers} processes` : ''}`);

    const committed = repo.doneChunks(set.id);
    const todo = Array.from({ length: set.chunksTotal }, (_, k) => k).filter((k) => !committed.has(k));
    const sizeOf = (k: number) => Math.min(set.chunkSize, set.count - k * set.chunkSize);
    let doneSamples = [...committed].reduce((s, k) => s + sizeOf(k), 0);
    const resumedSamples = doneSamples;
    let gradEvals = 0;
    const started = Date.now();
    const report = (c: ChunkDone | null) => {
      if (c) {
        doneSamples += c.count;
        gradEvals += c.gradEvals;
        ctx.metrics([
          { key: 'margins/samples_per_s', step: c.chunkIndex, value: c.count / Math.max(c.seconds, 1e-9) },
          { key: 'margins/grad_evals_per_sample', step: c.chunkIndex, value: c.gradEvals / c.count },
        ]);
      }
      const fresh = doneSamples - resumedSamples;
      const rate = fresh / Math.max((Date.now() - started) / 1000, 1e-9);
      const eta = fresh > 0 ? (set.count - doneSamples) / rate : NaN;
      const resumed = resumedSamples > 0 ? ` (resumed at ${resumedSamples})` : '';
      ctx.progress(
        set.count ? doneSamples / set.count : 1,
        `${doneSamples} / ${set.count} margins${resumed}${fresh > 0 ? `, ${rate.toFixed(1)} samples/s, ${formatDuration(eta)} left` : ''}`,
        c !== null,
      );
    };
    report(null);

    const shares = Array.from({ length: Math.min(nWorkers, Math.max(1, todo.length)) }, (_, w) => todo.filter((_, j) => j % nWorkers === w));
    const workerDone = shares.slice(1).map((chunkIndices) => {
      const child = forkEntry('margin-worker');
      workers.push(child);
      return new Promise<void>((resolve, reject) => {
        child.on('message', (m: FromWorker) => {
          if (m.type === 'chunk') report(m);
          else if (m.type === 'done') resolve();
          else reject(new Error(`margin worker failed: ${m.message}`));
        });
        child.on('exit', (code, signal) => reject(new Error(`margin worker ended (${signal ?? `exit code ${code}`})`)));
        const start: WorkerStart = {
          type: 'start',
          dbPath: ctx.dbPath,
          dataDir: ctx.dataDir,
          setId: set.id,
          chunkIndices,
          batchSize: config.batchSize,
          backend: config.backend,
        };
        child.send(start);
      });
    });
    // A cancel reaches the workers too.
    const cancelWatch = setInterval(() => {
      if (ctx.cancelled) for (const w of workers) if (w.connected) w.send({ type: 'stop' });
    }, 200);
    try {
      await Promise.all([
        computeAndCommitChunks({ db, dataDir: ctx.dataDir, set, config, chunkIndices: shares[0] ?? [], onChunk: report, shouldStop: () => ctx.cancelled }),
        ...workerDone,
      ]);
    } finally {
      clearInterval(cancelWatch);
    }
    ctx.throwIfCancelled();

    const chunks = repo.chunks(set.id);
    if (chunks.length !== set.chunksTotal) throw new Error(`${FILE}: ${chunks.length} of ${set.chunksTotal} chunks committed after the job`);
    const margins = new Float32Array(set.count);
    let totalGrad = 0;
    let totalSeconds = 0;
    for (const c of chunks) {
      margins.set(c.margins, c.offset);
      totalGrad += c.gradEvals;
      totalSeconds += c.seconds;
    }
    const dir = path.join(ctx.dataDir, 'margins');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `set-${set.id}-${set.key.slice(0, 12)}.npy`);
    writeNpyFloat32(file, margins);
    const summary = summarizeMargins(margins, config.eps);
    const seconds = (Date.now() - started) / 1000;
    const samplesPerSecond = doneSamples > resumedSamples ? (doneSamples - resumedSamples) / seconds : null;
    repo.complete(set.id, { file, summary, gradEvalsPerSample: set.count ? totalGrad / set.count : 0, samplesPerSecond });
    ctx.progress(1, `${set.count} / ${set.count} margins`, true);
    ctx.result(
      {
        marginSetId: set.id,
        file,
        summary,
        gradEvalsPerSample: totalGrad / Math.max(1, set.count),
        samplesPerSecond,
        chunkSeconds: totalSeconds,
        gradEvalsThisRun: gradEvals,
      },
      true,
    );
  } catch (e) {
    if (ctx.cancelled && !(e instanceof JobCancelled)) throw new JobCancelled();
    throw e;
  } finally {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    db.close();
  }
};
