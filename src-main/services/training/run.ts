/**
 * The body of a `train` job: data, scores when the strategy needs them, pruning, training with
 * live progress/metrics, a checkpoint every epoch, and the final row. A re-queued run (resume)
 * finds its checkpoint under <dataDir>/runs/<id>/checkpoints and continues from there.
 */
import path from 'node:path';
import { parseTrainConfig, type TrainConfig, type TrainingCheckpointRecord, type TrainRunResult } from '../../../src-shared/domain/training';
import { selectPruned } from '../../../src-shared/method/pruning';
import { selectForRun } from '../../../src-shared/method/run-selection';
import type { MetricPoint } from '../../../src-shared/domain/runs';
import type { RunArtifacts } from '../../../src-shared/domain/run-artifacts';
import type { PhaseId, PhaseProgress } from '../../../src-shared/domain/phases';
import { initEngine } from '../../engine';
import { trainModel, TrainingStopped } from '../../engine/training';
import { openDatabase } from '../../store/db';
import { DatasetService } from '../datasets/service';
import { openRunData } from './data';
import { describeRunArtifacts } from './artifacts-job';
import { computeScores, scoreNeeded } from './scores';

/** What the job needs of its context (JobContext satisfies it). */
export interface TrainJobContext {
  readonly runId: number;
  readonly dbPath: string;
  readonly dataDir: string;
  readonly cancelled: boolean;
  environment(backend: string, device: string): void;
  progress(fraction: number, text: string, force?: boolean): void;
  /** The phases of this run, then progress within each (its own fraction; `overall` for the whole run). */
  planPhases(ids: readonly PhaseId[]): void;
  phase(phase: PhaseId, fraction: number, overall: number, text: string, rate?: number | null): void;
  skipPhase(phase: PhaseId, why: string): void;
  phaseSnapshot(): PhaseProgress[];
  metrics(points: MetricPoint[]): void;
  /** The main process logs the checkpoint row and `points` in one transaction (it alone writes the log). */
  checkpoint(checkpoint: TrainingCheckpointRecord, points?: MetricPoint[]): void;
  /** The margin model / set the run made or used, registered by the main process. */
  artifacts(artifacts: RunArtifacts): void;
  result(result: unknown, final?: boolean): void;
  throwIfCancelled(): void;
}

/** The phases computing scores takes: none when they are given (margin_set, cd_run). */
function scorePhasesOf(c: TrainConfig): PhaseId[] {
  const need = scoreNeeded(c);
  if (need === 'margin') return c.margin_set != null ? [] : c.margin_model != null ? ['margins'] : ['margin_model', 'margins'];
  if (need === 'cd') return c.cd_run != null ? [] : ['cd_recording'];
  return [];
}

export function runDirFor(dataDir: string, runId: number): string {
  return path.join(dataDir, 'runs', String(runId));
}

export async function runTrainingJob(ctx: TrainJobContext, rawConfig: unknown): Promise<TrainRunResult> {
  const config: TrainConfig = parseTrainConfig(rawConfig, `run ${ctx.runId}`);
  const started = performance.now();
  const backend = await initEngine(config.backend === 'auto' ? undefined : config.backend);
  ctx.environment(backend.backend, backend.device);
  // The job only reads the log (datasets); everything it reports goes through ctx to the main process.
  const db = openDatabase(ctx.dbPath, { migrate: false });
  const datasets = new DatasetService(db, ctx.dataDir);
  const data = openRunData(datasets, config);
  const runDir = runDirFor(ctx.dataDir, ctx.runId);
  const recordCheckpoint = (path: string, globalStep: number, epoch: number, batchInEpoch: number, points: MetricPoint[] = []) => {
    checkpoints.push(path);
    ctx.checkpoint({ globalStep, epoch, batchInEpoch, path }, points);
  };
  const timings: Record<string, number> = {};
  const checkpoints: string[] = [];
  const result: TrainRunResult = {
    status: 'running',
    metrics: null,
    epochs_done: 0,
    global_step: 0,
    backend: backend.backend,
    device: backend.device,
    seconds: 0,
    timings,
    images_per_second: 0,
    checkpoints,
    final_model: null,
    resumed_from: null,
    pruning: null,
    margins: null,
    margin_model_id: null,
    margin_set_id: null,
  };
  try {
    // 1. Scores and pruning (the scores phases take the first 30 % of the overall progress bar).
    const need = scoreNeeded(config);
    const share = need ? 0.3 : 0;
    const scorePhases = scorePhasesOf(config);
    ctx.planPhases([...scorePhases, 'training', 'evaluation']);
    let kept = data.candidates;
    let radii: Float32Array | null = null;
    if (need) {
      const t0 = performance.now();
      ctx.progress(0, `computing ${need === 'margin' ? 'margins' : 'classification difficulty'}`, true);
      const scores = await computeScores(config, data, ctx.dataDir, need, {
        progress: (f, text, phase, rate) => {
          const k = Math.max(0, scorePhases.indexOf(phase));
          ctx.phase(phase, f, (share * (k + f)) / Math.max(1, scorePhases.length), text, rate);
        },
        shouldStop: () => ctx.cancelled,
      });
      ctx.throwIfCancelled();
      const why = scores.source === 'cache' ? 'found in the cache (same data, model and method)' : scores.source;
      for (const p of scorePhases) ctx.skipPhase(p, why);
      timings.scores = (performance.now() - t0) / 1000;
      result.margins = { source: scores.source, path: scores.path, count: scores.values.length };
      // The margin model and set go to the log (the main process registers them; their ids join the result).
      // A model file that cannot be copied costs the run its ids, not its training.
      const artifacts = await describeRunArtifacts({ config, data, scores, runId: ctx.runId, dataDir: ctx.dataDir, db }).catch((e: Error) => {
        console.error(`run ${ctx.runId}: its margin model / margin set cannot be registered: ${e.message}`);
        return null;
      });
      if (artifacts) ctx.artifacts(artifacts);
      const pruned = selectForRun(config, scores.values);
      kept = Int32Array.from(pruned.kept, (i) => data.candidates[i]!);
      if (pruned.radii) {
        radii = new Float32Array(data.poolSize);
        for (let i = 0; i < data.candidates.length; i++) radii[data.candidates[i]!] = pruned.radii[i]!;
      }
    } else if (config.strategy === 'random') {
      const pruned = selectPruned({ strategy: 'random', poolSize: data.candidates.length, ratio: config.prune_ratio, seed: config.seed });
      kept = Int32Array.from(pruned.kept, (i) => data.candidates[i]!);
    }
    let anti = 0;
    let radiusSum = 0;
    if (radii) for (const p of kept) ((anti += radii[p]! < 0 ? 1 : 0), (radiusSum += radii[p]!));
    result.pruning = {
      pool_size: data.candidates.length,
      kept: kept.length,
      strategy: config.strategy,
      anti_adversarial: anti,
      mean_radius: radii ? radiusSum / kept.length : null,
    };
    ctx.result(result);

    // 2. Training.
    const pool = data.makePool(config, kept, radii);
    const t1 = performance.now();
    const batchPoints: MetricPoint[] = [];
    // Evaluations happen after some epochs (every eval_every, and the last): the evaluation phase
    // is the count done plus the fraction of the current one, over the count planned.
    const evalEpochs = Array.from({ length: config.epochs }, (_, e) => e + 1).filter(
      (e) => e === config.epochs || (config.eval_every > 0 && e % config.eval_every === 0),
    );
    let lastEpoch = 0; // 0-based epoch of the latest batch
    const res = await trainModel({
      config,
      data: { pool, poolSize: data.poolSize, test: data.test, inputShape: data.inputShape, numClasses: data.numClasses, normalization: data.normalization },
      runDir,
      hooks: {
        shouldStop: () => ctx.cancelled,
        yieldEvery: 1,
        onBatch: (p) => {
          if (p.globalStep % config.log_every === 0) {
            batchPoints.push({ key: 'train/batch_loss', step: p.globalStep, value: p.loss }, { key: 'train/lr', step: p.globalStep, value: p.lr });
            ctx.metrics(batchPoints.splice(0));
          }
          lastEpoch = p.epoch;
          ctx.phase(
            'training',
            p.globalStep / p.totalSteps,
            share + (1 - share) * (p.globalStep / p.totalSteps) * 0.97,
            `epoch ${p.epoch + 1}/${config.epochs} · step ${p.globalStep}/${p.totalSteps} · loss ${p.loss.toFixed(3)} · ${p.imagesPerSecond.toFixed(0)} img/s`,
            p.imagesPerSecond,
          );
        },
        onEvalProgress: (f) => {
          const before = evalEpochs.filter((e) => e < lastEpoch + 1).length;
          ctx.phase(
            'evaluation',
            (before + f) / Math.max(1, evalEpochs.length),
            Math.min(0.999, share + (1 - share) * ((lastEpoch + 1) / config.epochs) * 0.97),
            `evaluation ${before + 1}/${evalEpochs.length} (after epoch ${lastEpoch + 1}) · ${(f * 100).toFixed(0)} %`,
          );
        },
        onEpoch: (r) => {
          const step = r.epoch + 1;
          const points: MetricPoint[] = [
            { key: 'train/loss', step, value: r.trainLoss },
            { key: 'train/acc', step, value: r.trainAcc },
            { key: 'train/img_per_s', step, value: r.imagesPerSecond },
            { key: 'lr', step, value: r.lr },
          ];
          if (config.strategy === 'online_puma') points.push({ key: 'train/pruned_online', step, value: r.prunedOnline });
          if (r.eval) {
            points.push(
              { key: 'test/clean_acc', step, value: r.eval.clean_acc },
              { key: 'test/robust_acc_pgd', step, value: r.eval.robust_acc_pgd },
              { key: 'test/robust_acc_cw', step, value: r.eval.robust_acc_cw },
            );
            result.metrics = { clean_acc: r.eval.clean_acc, robust_acc_pgd: r.eval.robust_acc_pgd, robust_acc_cw: r.eval.robust_acc_cw };
          }
          recordCheckpoint(
            r.checkpoint,
            r.globalStep,
            step,
            0,
            points.filter((p) => Number.isFinite(p.value)),
          );
          result.epochs_done = step;
          result.global_step = r.globalStep;
          result.images_per_second = r.imagesPerSecond;
          result.seconds = (performance.now() - started) / 1000;
          ctx.result(result);
        },
      },
    });
    timings.training = (performance.now() - t1) / 1000;
    timings.train_steps = res.trainSeconds;
    timings.evaluation = res.evalSeconds;
    res.live.dispose();
    res.ema.dispose();
    const ev = res.eval!;
    result.metrics = { clean_acc: ev.clean_acc, robust_acc_pgd: ev.robust_acc_pgd, robust_acc_cw: ev.robust_acc_cw };
    result.status = 'finished';
    result.epochs_done = res.epochsDone;
    result.global_step = res.globalStep;
    result.images_per_second = res.imagesPerSecond;
    result.final_model = res.finalModelDir;
    result.resumed_from = res.resumedFrom;
    result.seconds = (performance.now() - started) / 1000;
    ctx.progress(
      1,
      `finished: clean ${(ev.clean_acc * 100).toFixed(1)} %, PGD ${(ev.robust_acc_pgd * 100).toFixed(1)} %, C&W ${(ev.robust_acc_cw * 100).toFixed(1)} %`,
      true,
    );
    result.phases = ctx.phaseSnapshot();
    ctx.result(result, true);
    return result;
  } catch (e) {
    if (e instanceof TrainingStopped) {
      result.seconds = (performance.now() - started) / 1000;
      recordCheckpoint(e.checkpoint, e.state.globalStep, e.state.epoch, e.state.batchInEpoch);
      result.phases = ctx.phaseSnapshot();
      ctx.result(result);
      ctx.throwIfCancelled();
    }
    if (e instanceof Error && e.message === 'cancelled') ctx.throwIfCancelled();
    throw e;
  } finally {
    data.close();
    db.close();
  }
}
