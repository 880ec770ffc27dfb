import type { DatasetInfo, SplitName } from '../../../src-shared/domain/datasets';
import { isActive } from '../../../src-shared/domain/runs';
import type { MarginGallery, MarginHistogram, MarginMethod, MarginNorm, MarginSelection, MarginSetInfo } from '../../../src-shared/domain/margins';
import { isPytorchFile, type ImportModelRequestInput, type ModelExportFormat, type ModelExportResult, type ModelInfo } from '../../../src-shared/domain/models';
import { client } from '../api/client';

/** The Models and Margins pages: margin models, margin sets, a running job and the chosen set. */
export class MarginsState {
  models = $state<ModelInfo[]>([]);
  datasets = $state<DatasetInfo[]>([]);
  sets = $state<MarginSetInfo[]>([]);
  error = $state<string | null>(null);
  busy = $state(false);
  // Job form
  datasetId = $state<number | null>(null);
  modelId = $state<number | null>(null);
  split = $state<SplitName>('train');
  method = $state<MarginMethod>('fast');
  norm = $state<MarginNorm>('linf');
  eps = $state(0.1);
  workers = $state(2);
  // Running job
  runId = $state<number | null>(null);
  progress = $state(0);
  progressText = $state('');
  eta = $state<number | null>(null);
  // Chosen set
  selected = $state<number | null>(null);
  histogram = $state<MarginHistogram | null>(null);
  gallery = $state<MarginGallery | null>(null);
  /** What a train run did with the chosen set (kept vs pruned, ε_i, galleries); why not, when none did. */
  selection = $state<MarginSelection | null>(null);
  selectionNote = $state<string | null>(null);
  /** The running import or evaluation of a model (a `models` run): its progress; Cancel stops it. */
  modelRunId = $state<number | null>(null);
  modelProgress = $state(0);
  modelProgressText = $state('');
  /** The last PyTorch export (file and sidecar written). */
  exported = $state<ModelExportResult | null>(null);

  private readonly offs: Array<() => void>;

  constructor() {
    this.offs = [
      client.on('run.progress', (p) => {
        if (p.runId === this.modelRunId) ((this.modelProgress = p.progress), (this.modelProgressText = p.text));
        if (p.runId !== this.runId) return;
        this.progress = p.progress;
        this.progressText = p.text;
        this.eta = p.etaSeconds;
      }),
      client.on('run.status', (s) => {
        // A train run that finishes may have made a margin set (PUMA, PE/PD by margin) or a margin
        // model (a models run registers it); the Models page's training form is ModelTrainState.
        if (s.status === 'finished' && s.runId !== this.runId) void this.refresh();
        if (s.runId === this.modelRunId && !isActive(s.status)) {
          this.modelRunId = null;
          // a file refused by a deeper check (its layers, weights, class count) ends the run failed
          if (s.status !== 'finished')
            this.error = s.status === 'cancelled' ? 'Model import cancelled: nothing was recorded.' : (s.error ?? `Model run ${s.runId} ${s.status}`);
        }
        if (s.runId !== this.runId || isActive(s.status)) return;
        if (s.status !== 'finished') this.error = `Margin run ${s.runId} ended ${s.status}${s.error ? `: ${s.error}` : ''}`;
        void this.refresh().then(() => {
          const done = this.sets.find((x) => x.lastRunId === s.runId && x.status === 'complete');
          if (done) void this.select(done.id);
        });
      }),
    ];
  }

  /** Releases the event subscriptions (the owning page calls it when it goes). */
  dispose(): void {
    for (const off of this.offs) off();
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T | undefined> {
    this.error = null;
    this.busy = true;
    try {
      return await fn();
    } catch (e) {
      this.error = (e as Error).message;
      return undefined;
    } finally {
      this.busy = false;
    }
  }

  async refresh(): Promise<void> {
    await this.guard(async () => {
      [this.models, this.datasets, this.sets] = await Promise.all([
        client.call('models.list', {}),
        client.call('datasets.list', {}),
        client.call('margins.list', {}),
      ]);
      this.datasetId ??= this.datasets[0]?.id ?? null;
      this.modelId ??= this.models[0]?.id ?? null;
    });
  }

  /** `pytorch`: family and normalisation of a .pt/.pth/.safetensors checkpoint (ignored for model.json). */
  async importModel(
    path: string,
    name: string,
    evaluateOn: number | null,
    robustEps: number | null,
    pytorch: { arch?: ImportModelRequestInput['arch']; normalize?: string } = {},
  ): Promise<void> {
    await this.guard(async () => {
      const { runId } = await client.call('models.import', {
        path,
        name,
        ...(evaluateOn ? { evaluateOn } : {}),
        ...(robustEps ? { robustEps } : {}),
        ...(isPytorchFile(path) ? pytorch : {}),
      });
      ((this.modelRunId = runId), (this.modelProgress = 0), (this.modelProgressText = 'queued'));
    });
  }

  /** Cancels the running import: its run ends cancelled and leaves no model. */
  async cancelModelRun(): Promise<void> {
    if (this.modelRunId === null) return;
    const id = this.modelRunId;
    await this.guard(() => client.call('runs.cancel', { id }));
  }

  /** Writes a PyTorch-imported model as a PyTorch state_dict to `out` (plus `out`.json). */
  async exportModel(id: number, format: ModelExportFormat, out: string): Promise<void> {
    this.exported = null;
    const r = await this.guard(() => client.call('models.export', { id, format, out }));
    if (r) this.exported = r;
  }

  async start(): Promise<void> {
    if (this.datasetId === null || this.modelId === null) {
      this.error = 'Choose a dataset and a margin model first.';
      return;
    }
    await this.guard(async () => {
      const r = await client.call('margins.start', {
        datasetId: this.datasetId!,
        modelId: this.modelId!,
        split: this.split,
        method: this.method,
        params: { norm: this.method === 'fast' ? 'linf' : this.norm },
        eps: this.eps,
        workers: this.workers,
      });
      this.sets = await client.call('margins.list', {});
      if (r.runId === null) await this.select(r.marginSetId);
      else ((this.runId = r.runId), (this.progress = 0), (this.progressText = 'queued'), (this.eta = null));
    });
  }

  async select(id: number): Promise<void> {
    this.selected = id;
    this.selection = null;
    this.selectionNote = null;
    const set = this.sets.find((x) => x.id === id);
    // A run's set: ±ε of the run's Eq. 2 (its summary's ε), not the form's.
    const eps = set?.runKind === 'train' ? undefined : this.eps;
    await this.guard(async () => {
      [this.histogram, this.gallery] = await Promise.all([
        client.call('margins.histogram', { id, bins: 60, ...(eps ? { eps } : {}) }),
        client.call('margins.gallery', { id, count: 12 }),
      ]);
    });
    if (!set || (set.runKind !== 'train' && set.trainRuns === 0)) {
      // A margin job's set that no train run used has no selection: say so, it is not an error.
      this.selectionNote = `No train run has trained with margin set #${id} yet: the histogram and galleries below show its margins alone.`;
      return;
    }
    await this.showRun(id, undefined);
  }

  /** The selection of one train run that used the set (default: the run that made it, else the newest). */
  async showRun(id: number, runId: number | undefined): Promise<void> {
    try {
      this.selection = await client.call('margins.selection', { id, count: 12, ...(runId ? { runId } : {}) });
    } catch (e) {
      this.selectionNote = (e as Error).message;
    }
  }
}
