import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { ActiveDatasetImport, DatasetImportStarted, datasetOperations } from '../../../src-shared/api/ops/datasets';
import type { DatasetInfo } from '../../../src-shared/domain/datasets';
import { BadRequest, Conflict } from '../../../src-shared/api/errors';
import type { DomainHandlers, PumaApp } from '../app';
import type { PathPolicy } from '../path-policy';
import { yieldToEventLoop } from './bytes';
import { detectFormat, TAR_NAME } from './detect';
import type { DatasetService, ProgressFn } from './service';

/** Answers 'dialog.pickPath' with a native open dialog (set by the Electron entry only). */
export type PathPicker = (req: { kind: 'file' | 'folder'; title?: string }) => Promise<string | null>;

/** What the dataset operations use. */
export interface DatasetHandlerDeps {
  datasets: DatasetService;
  imports: DatasetImports;
  paths: PathPolicy;
  /** The native open dialog (Electron), asked at each call: the Electron entry sets it after start. */
  picker: () => PathPicker | null;
}

/**
 * Imports running in the background of the main process (the service streams and yields to the
 * event loop between chunks), reported as events; `active` answers 'datasets.imports'.
 */
export class DatasetImports {
  readonly active = new Map<string, ActiveDatasetImport>();

  constructor(private readonly emit: PumaApp['emit']) {}

  /** Starts one; the returned promise settles with it (null: it failed, as its end event says). */
  start(name: string, source: string, work: (onProgress: ProgressFn) => Promise<DatasetInfo>): DatasetImportStarted & { done: Promise<DatasetInfo | null> } {
    const importId = randomUUID();
    const active: ActiveDatasetImport = { importId, name: name.trim(), source, fraction: 0, text: 'starting' };
    this.active.set(importId, active);
    const done = (async () => {
      try {
        // the reader's first chunk is synchronous work: let the caller's answer go out before it
        await yieldToEventLoop();
        const dataset = await work((fraction, text) => {
          active.fraction = fraction;
          active.text = text;
          this.emit('datasets.progress', { importId, fraction, text });
        });
        this.active.delete(importId);
        this.emit('datasets.imported', { importId, dataset, error: null });
        return dataset;
      } catch (e) {
        this.active.delete(importId);
        this.emit('datasets.imported', { importId, dataset: null, error: (e as Error).message });
        return null;
      }
    })();
    return { importId, done };
  }
}

function assertNameFree(service: DatasetService, name: string): void {
  const clash = service.repo.getByName(name.trim());
  if (clash) throw new Conflict(`A dataset named "${name.trim()}" already exists (id ${clash.id}); choose another name`);
}

export function datasetHandlers({ datasets: s, imports, paths, picker }: DatasetHandlerDeps): DomainHandlers<keyof typeof datasetOperations> {
  return {
    'datasets.list': () => s.list(),
    'datasets.get': (req) => s.get(req.id),
    'datasets.import': (req) => {
      // req.path is already the checked real path (path-policy.ts, applied by dispatch)
      const source = req.path;
      assertNameFree(s, req.name);
      if (req.generatedFor !== undefined) s.get(req.generatedFor!);
      // a layout we cannot read fails now rather than as an event (archives are checked once unpacked)
      if (!(fs.statSync(source).isFile() && TAR_NAME.test(source))) {
        try {
          detectFormat(source, req.format);
        } catch (e) {
          throw new BadRequest((e as Error).message);
        }
      }
      const { importId } = imports.start(req.name, source, (onProgress) => s.importDataset({ ...req, path: source }, onProgress));
      return { importId };
    },
    'datasets.imports': () => [...imports.active.values()].map((i) => ({ ...i })),
    'datasets.preview': (req) => {
      const info = s.get(req.id);
      const p = s.previewImages(req.id, { split: req.split, offset: req.offset, count: req.count });
      return {
        split: req.split,
        width: p.width,
        height: p.height,
        channels: p.channels,
        offset: p.offset,
        total: info.splits[req.split]?.count ?? 0,
        labels: p.labels,
        classes: info.classes,
        pixels: Buffer.concat(p.images).toString('base64'),
      };
    },
    'datasets.histogram': (req) => s.classHistogram(req.id, req.split),
    'datasets.system': () => {
      const imported = new Map(s.list().map((d) => [d.sourcePath, d.id]));
      return s.detectSystemDatasets().map((d) => {
        let real = d.path;
        try {
          real = fs.realpathSync(d.path);
        } catch {
          /* keep the listed path */
        }
        return { ...d, importedAs: imported.get(real) ?? imported.get(d.path) ?? null };
      });
    },
    'datasets.download': (req) => {
      const name = req.name ?? req.dataset;
      assertNameFree(s, name);
      const { importId } = imports.start(name, req.dataset, (onProgress) => s.downloadAndImport(req.dataset, name, onProgress));
      return { importId };
    },
    'dialog.pickPath': async (req) => {
      const pick = picker();
      if (!pick) {
        throw new BadRequest('Choosing a file needs the desktop app. In browser mode type the path into the form instead.');
      }
      const picked = await pick(req);
      if (picked === null) return { path: null };
      // from now on requests may name this file or folder (and what it holds)
      return { path: paths.addPicked(picked) };
    },
  };
}
