import type { ActiveDatasetImport, DatasetPreview, SystemDatasetOffer } from '../../../src-shared/api/ops/datasets';
import type { ClassHistogram, DatasetFormatOrAuto, DatasetInfo, SplitName } from '../../../src-shared/domain/datasets';
import { client } from '../api/client';

export const PREVIEW_PAGE = 64;

/** The datasets page: the list, the import form with its running import, and the selected dataset's views. */
export class DatasetsState {
  datasets = $state<DatasetInfo[]>([]);
  offers = $state<SystemDatasetOffer[]>([]);
  error = $state<string | null>(null);
  /** Whether this window can open a native file dialog (Electron). */
  canPick = $state(typeof (globalThis as { puma?: unknown }).puma !== 'undefined');

  // import form
  path = $state('');
  name = $state('');
  format = $state<DatasetFormatOrAuto>('auto');
  generatedFor = $state('');
  importing = $state<ActiveDatasetImport | null>(null);

  // the selected dataset
  selectedId = $state<number | null>(null);
  split = $state<SplitName>('train');
  offset = $state(0);
  preview = $state<DatasetPreview | null>(null);
  histogram = $state<ClassHistogram | null>(null);

  selected = $derived(this.datasets.find((d) => d.id === this.selectedId) ?? null);

  private readonly offs: Array<() => void>;

  constructor() {
    this.offs = [
      client.on('datasets.progress', (e) => {
        if (this.importing?.importId === e.importId) {
          this.importing.fraction = e.fraction;
          this.importing.text = e.text;
        }
      }),
      client.on('datasets.imported', (e) => {
        if (this.importing?.importId !== e.importId) return void this.refresh();
        this.importing = null;
        if (e.error) this.error = e.error;
        void this.refresh().then(() => {
          if (e.dataset) void this.select(e.dataset.id);
        });
      }),
    ];
  }

  /** Releases the event subscriptions (the owning page calls it when it goes). */
  dispose(): void {
    for (const off of this.offs) off();
  }

  async refresh(): Promise<void> {
    try {
      const [datasets, offers, running] = await Promise.all([
        client.call('datasets.list', {}),
        client.call('datasets.system', {}),
        client.call('datasets.imports', {}),
      ]);
      this.datasets = datasets;
      this.offers = offers;
      if (!this.importing && running.length) this.importing = running[0];
      if (this.selectedId === null && datasets.length) await this.select(datasets[0].id);
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  async pickPath(kind: 'file' | 'folder'): Promise<void> {
    try {
      const { path } = await client.call('dialog.pickPath', { kind, title: 'Choose a dataset' });
      if (path) {
        this.path = path;
        if (!this.name) this.name = path.split(/[\\/]/).filter(Boolean).pop() ?? '';
      }
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  async startImport(): Promise<void> {
    const base = this.generatedFor.trim();
    await this.begin(this.name, this.path, () =>
      client.call('datasets.import', {
        path: this.path.trim(),
        name: this.name.trim(),
        format: this.format,
        generatedFor: base === '' ? undefined : /^\d+$/.test(base) ? Number(base) : base,
      }),
    );
  }

  async importOffer(offer: SystemDatasetOffer): Promise<void> {
    const taken = new Set(this.datasets.map((d) => d.name));
    let name = offer.name;
    for (let i = 2; taken.has(name); i++) name = `${offer.name}-${i}`;
    await this.begin(name, offer.path, () => client.call('datasets.import', { path: offer.path, name, format: offer.format }));
  }

  private async begin(name: string, source: string, start: () => Promise<{ importId: string }>): Promise<void> {
    this.error = null;
    try {
      const { importId } = await start();
      // events may already have arrived for it: keep whatever is further along
      if (this.importing?.importId !== importId) this.importing = { importId, name, source, fraction: 0, text: 'starting' };
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  async select(id: number): Promise<void> {
    this.selectedId = id;
    const d = this.datasets.find((x) => x.id === id);
    this.split = d && !d.splits.train && d.splits.test ? 'test' : 'train';
    this.offset = 0;
    await this.load();
  }

  async setSplit(split: SplitName): Promise<void> {
    this.split = split;
    this.offset = 0;
    await this.load();
  }

  async page(delta: number): Promise<void> {
    const total = this.preview?.total ?? 0;
    const next = Math.max(0, Math.min(this.offset + delta * PREVIEW_PAGE, Math.max(0, total - 1)));
    if (next === this.offset) return;
    this.offset = next;
    await this.loadPreview();
  }

  private async load(): Promise<void> {
    if (this.selectedId === null) return;
    try {
      this.histogram = await client.call('datasets.histogram', { id: this.selectedId, split: this.split });
    } catch (e) {
      this.error = (e as Error).message;
    }
    await this.loadPreview();
  }

  private async loadPreview(): Promise<void> {
    if (this.selectedId === null) return;
    try {
      this.preview = await client.call('datasets.preview', { id: this.selectedId, split: this.split, offset: this.offset, count: PREVIEW_PAGE });
    } catch (e) {
      this.error = (e as Error).message;
    }
  }
}
