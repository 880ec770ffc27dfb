/**
 * A train run's selection for a margin set, recomputed from the run's config and the set's margins
 * with the run's own pruning call (selectForRun, same seed) rather than stored: kept vs pruned,
 * the ε_i each kept sample trained with, the anti-adversarial ones (ε_i < 0, docs/METHOD.md §2), and
 * galleries with true and predicted class (predicted by the set's margin model).
 */
import * as tf from '@tensorflow/tfjs';
import type { DatasetInfo } from '../../../src-shared/domain/datasets';
import type { MarginSelection, SelectionItem } from '../../../src-shared/domain/margins';
import { parseTrainConfig, type TrainRunResult } from '../../../src-shared/domain/training';
import { groupedHistogram, selectForRun, spread } from '../../../src-shared/method/run-selection';
import type { RunsRepo } from '../../store/repos/runs';
import { imagesToTensor } from '../models/service';
import { scoreNeeded } from '../training/scores';
import type { MarginService } from './service';
import { BadRequest, NotFound } from '../../../src-shared/api/errors';

const FILE = 'src-main/services/margins/selection.ts';

export interface SelectionRequest {
  id: number;
  runId?: number;
  /** Images per gallery. */
  count?: number;
  bins?: number;
}

export async function runSelection(service: MarginService, runs: RunsRepo, req: SelectionRequest): Promise<MarginSelection> {
  const set = service.get(req.id);
  const usedBy = service.repo.trainRunsUsing(set.id);
  const runId = req.runId ?? (set.runKind === 'train' ? set.runId : null) ?? usedBy[0];
  if (runId == null) throw new BadRequest(`Margin set ${set.id} was not used by any train run: no selection to show`);
  if (!runs.exists(runId)) throw new NotFound(`Run ${runId} does not exist in the experiment log`);
  const run = runs.get(runId);
  if (run.kind !== 'train') throw new BadRequest(`Run ${runId} is a ${run.kind} run; only a train run selects samples`);
  const config = parseTrainConfig(run.config, `run ${runId}`);
  if (scoreNeeded(config) !== 'margin')
    throw new BadRequest(
      `Run ${runId} (strategy ${config.strategy}${config.strategy === 'none' || config.strategy === 'random' || config.strategy === 'online_puma' ? '' : `, score ${config.score}`}) selects no samples by margin`,
    );

  // The run's pool: the first `originals` training samples, then the generated set.
  const dataset = service.datasets.get(set.datasetId);
  if (service.datasets.get(config.dataset).id !== dataset.id)
    throw new BadRequest(`Run ${runId} trained on "${config.dataset}", margin set ${set.id} is of "${dataset.name}"`);
  const trainCount = dataset.splits.train?.count ?? 0;
  const originals = Math.min(config.train_subset ?? trainCount, trainCount);
  const generated: DatasetInfo | null = config.generated != null ? service.datasets.get(config.generated) : null;
  const generatedSplit = generated ? (generated.splits.train ? 'train' : 'test') : null;
  const generatedCount = generated ? (generated.splits[generatedSplit!]?.count ?? 0) : 0;
  const n = originals + generatedCount;
  const margins = service.read(set.id);
  // A run's own set is in pool order; a whole-split set (a margin job's) is indexed like the dataset.
  const setIndex =
    margins.length === n
      ? (k: number) => k
      : margins.length === trainCount + generatedCount
        ? (k: number) => (k < originals ? k : trainCount + (k - originals))
        : null;
  if (!setIndex)
    throw new BadRequest(
      `Margin set ${set.id} holds ${margins.length} margins, run ${runId}'s pool has ${n} samples (${originals} training + ${generatedCount} generated)`,
    );
  const scores = Float32Array.from({ length: n }, (_, k) => margins[setIndex(k)]!);

  const chosen = selectForRun(config, scores);
  const keptMask = new Uint8Array(n);
  for (const k of chosen.kept) keptMask[k] = 1;
  const kept = Array.from(chosen.kept);
  const pruned = Array.from({ length: n }, (_, k) => k).filter((k) => !keptMask[k]);
  const radii = chosen.radii;
  const anti = radii ? kept.filter((k) => radii[k]! < 0) : [];
  const eq2Eps = config.strategy === 'puma' ? (config.eq2_eps ?? config.eps) : null;

  let lo = Infinity;
  let hi = -Infinity;
  for (const m of scores) ((lo = Math.min(lo, m)), (hi = Math.max(hi, m)));
  if (eq2Eps !== null) ((lo = Math.min(lo, -eq2Eps)), (hi = Math.max(hi, eq2Eps)));
  const bins = req.bins ?? 60;
  const mh = groupedHistogram(scores, [kept, pruned], lo, hi, bins);
  const rh = radii && eq2Eps !== null ? groupedHistogram(radii, [kept], -eq2Eps, eq2Eps, 40) : null;
  const stored = (run.result as TrainRunResult | null)?.pruning ?? null;

  // Galleries: spread over each group in margin (or ε_i) order.
  const count = req.count ?? 12;
  const byMarginDesc = (a: number, b: number) => scores[b]! - scores[a]!;
  const picks = {
    pruned: spread([...pruned].sort(byMarginDesc), count),
    kept: spread([...kept].sort(byMarginDesc), count),
    antiAdversarial: spread(
      [...anti].sort((a, b) => radii![a]! - radii![b]!),
      count,
    ),
  };
  const all = [...picks.pruned, ...picks.kept, ...picks.antiAdversarial];
  const original = service.datasets.openSplit(dataset.id, 'train', { preload: false });
  const extra = generated ? service.datasets.openSplit(generated.id, generatedSplit!, { preload: false }) : null;
  const pixels = new Map<number, { label: number; image: Uint8Array }>();
  try {
    for (const k of all) {
      if (pixels.has(k)) continue;
      const [reader, i] = k < originals ? [original, k] : [extra!, k - originals];
      pixels.set(k, { label: reader.labels[i]!, image: reader.readRange(i, 1) });
    }
  } finally {
    original.close();
    extra?.close();
  }
  const { predicted, predictedBy, note } = await predictClasses(service, set.modelId, all, pixels, dataset.shape);
  const item = (k: number): SelectionItem => ({
    index: setIndex(k),
    datasetId: k < originals ? dataset.id : generated!.id,
    datasetIndex: k < originals ? k : k - originals,
    label: pixels.get(k)!.label,
    predicted: predicted?.get(k) ?? null,
    margin: scores[k]!,
    radius: radii && keptMask[k] ? radii[k]! : null,
    image: Array.from(pixels.get(k)!.image),
  });
  let radiusSum = 0;
  if (radii) for (const k of kept) radiusSum += radii[k]!;
  return {
    marginSetId: set.id,
    runId,
    runName: run.name,
    usedBy,
    strategy: config.strategy,
    pruneRatio: config.prune_ratio,
    eq2Eps,
    gap: config.gap,
    eps: config.eps,
    poolSize: n,
    kept: kept.length,
    pruned: pruned.length,
    antiAdversarial: anti.length,
    meanRadius: radii ? radiusSum / kept.length : null,
    matchesRun: stored ? stored.kept === kept.length && stored.pool_size === n : null,
    marginHistogram: { edges: mh.edges, kept: mh.counts[0]!, pruned: mh.counts[1]!, eps: eq2Eps },
    radiusHistogram: rh ? { edges: rh.edges, counts: rh.counts[0]! } : null,
    height: dataset.shape[0],
    width: dataset.shape[1],
    channels: dataset.shape[2],
    classes: dataset.classes,
    predictedBy,
    predictionNote: note,
    galleries: { pruned: picks.pruned.map(item), kept: picks.kept.map(item), antiAdversarial: picks.antiAdversarial.map(item) },
  };
}

/** Classes the margin model predicts for the gallery samples; when it cannot be loaded, says why. */
async function predictClasses(
  service: MarginService,
  modelId: number,
  ks: number[],
  pixels: Map<number, { image: Uint8Array }>,
  shape: readonly [number, number, number],
): Promise<{ predicted: Map<number, number> | null; predictedBy: { modelId: number; name: string } | null; note: string | null }> {
  let model: tf.LayersModel;
  let name: string;
  try {
    const info = service.models.get(modelId);
    name = info.name;
    model = await service.models.load(modelId);
  } catch (e) {
    // The reason (it may name files) goes to the log of the main process, not to the page.
    console.error(`${FILE}: margin model ${modelId}: ${(e as Error).message}`);
    return {
      predicted: null,
      predictedBy: null,
      note: `No predicted classes: margin model #${modelId} could not be loaded (removed, or its files are missing).`,
    };
  }
  try {
    const unique = [...new Set(ks)];
    if (unique.length === 0) return { predicted: new Map(), predictedBy: { modelId, name }, note: null };
    const size = shape[0] * shape[1] * shape[2];
    const bytes = new Uint8Array(unique.length * size);
    unique.forEach((k, j) => bytes.set(pixels.get(k)!.image, j * size));
    const classes = tf.tidy(() => {
      const x = imagesToTensor(bytes, unique.length, shape);
      return (model.predict(x) as tf.Tensor2D).argMax(1);
    });
    const out = Array.from(await classes.data());
    classes.dispose();
    return { predicted: new Map(unique.map((k, j) => [k, out[j]!])), predictedBy: { modelId, name }, note: null };
  } catch (e) {
    console.error(`${FILE}: margin model ${modelId}: ${(e as Error).message}`);
    return { predicted: null, predictedBy: null, note: `No predicted classes: margin model #${modelId} does not accept these images.` };
  } finally {
    model.dispose();
  }
}
