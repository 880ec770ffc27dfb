import type { SystemDatasetOffer } from '../../../src-shared/api/ops/datasets';
import type { DatasetInfo } from '../../../src-shared/domain/datasets';
import type { MarginSetInfo } from '../../../src-shared/domain/margins';
import type { ModelInfo } from '../../../src-shared/domain/models';
import { isActive, type RunSummary } from '../../../src-shared/domain/runs';
import { client } from '../api/client';

/** The steps of the researcher's path, in order (the one list the Home page walks). */
export const PATH_STEPS = ['data', 'model', 'margins', 'runs', 'compare'] as const;
export type PathStep = (typeof PATH_STEPS)[number];

/**
 * The Home page: what the log holds for each step of the path (data → margin model → margins →
 * runs → compare) and which step comes next. Refreshed by the run and dataset events.
 */
export class HomeState {
  datasets = $state<DatasetInfo[]>([]);
  offers = $state<SystemDatasetOffer[]>([]);
  models = $state<ModelInfo[]>([]);
  marginSets = $state<MarginSetInfo[]>([]);
  runs = $state<RunSummary[]>([]);
  loaded = $state(false);
  error = $state<string | null>(null);
  /** A dataset import started from here: its progress until 'datasets.imported'. */
  importing = $state<{ importId: string; name: string; fraction: number; text: string } | null>(null);

  activeRuns = $derived(this.runs.filter((r) => isActive(r.status)));
  finishedRuns = $derived(this.runs.filter((r) => r.status === 'finished'));
  /** The system's Fashion-MNIST (Debian's package), when present and not imported yet. */
  fashionOffer = $derived(this.offers.find((o) => /fashion/i.test(o.name) && o.importedAs == null) ?? null);

  /** The first step that still needs something; the page marks it "next". */
  next = $derived.by((): PathStep => {
    if (this.datasets.length === 0) return 'data';
    if (this.runs.length === 0) return 'runs';
    if (this.finishedRuns.length < 2) return 'runs';
    return 'compare';
  });

  private off: Array<() => void> = [];

  constructor() {
    const refresh = () => void this.refresh();
    this.off.push(
      client.on('run.status', refresh),
      client.on('run.result', refresh),
      client.on('run.progress', (e) => {
        const r = this.runs.find((x) => x.id === e.runId);
        if (r) r.progress = e.progress;
      }),
      client.on('datasets.progress', (e) => {
        if (this.importing?.importId === e.importId) ((this.importing.fraction = e.fraction), (this.importing.text = e.text));
      }),
      client.on('datasets.imported', (e) => {
        if (this.importing?.importId === e.importId) {
          this.importing = null;
          if (e.error) this.error = e.error;
        }
        refresh();
      }),
    );
    refresh();
  }

  async refresh(): Promise<void> {
    try {
      const [datasets, offers, models, marginSets, runs] = await Promise.all([
        client.call('datasets.list', {}),
        client.call('datasets.system', {}).catch(() => [] as SystemDatasetOffer[]),
        client.call('models.list', {}),
        client.call('margins.list', {}),
        client.call('runs.list', { kind: 'train', limit: 1000 }),
      ]);
      Object.assign(this, { datasets, offers, models, marginSets, runs });
    } catch (e) {
      this.error = (e as Error).message;
    } finally {
      this.loaded = true;
    }
  }

  /** Imports the system's Fashion-MNIST (the first step of a fresh log). */
  async importFashion(): Promise<void> {
    const offer = this.fashionOffer;
    if (!offer) return;
    this.error = null;
    try {
      const { importId } = await client.call('datasets.import', { path: offer.path, name: offer.name, format: offer.format });
      if (this.importing?.importId !== importId) this.importing = { importId, name: offer.name, fraction: 0, text: 'starting' };
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  /** The latest finished runs (up to 4), newest first: what Compare opens with. */
  compareIds(): number[] {
    return this.finishedRuns.slice(0, 4).map((r) => r.id);
  }

  dispose(): void {
    for (const f of this.off) f();
    this.off = [];
  }
}
