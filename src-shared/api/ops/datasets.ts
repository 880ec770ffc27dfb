import { z } from 'zod';
import {
  DatasetId,
  DownloadableDataset,
  ImportDatasetRequest,
  PreviewRequest,
  SplitName,
  type ClassHistogram,
  type DatasetInfo,
  type SystemDataset,
} from '../../domain/datasets';
import { empty, res } from './common';

/** A started import or download; its progress and end arrive as 'datasets.progress' / 'datasets.imported' events. */
export interface DatasetImportStarted {
  importId: string;
}

/** An import still running (the page shows it again after a reload). */
export interface ActiveDatasetImport {
  importId: string;
  name: string;
  /** The file or folder being imported, or the dataset being downloaded. */
  source: string;
  fraction: number;
  text: string;
}

/**
 * Thumbnails of `labels.length` consecutive images of one split. `pixels` is base64 of their
 * uint8 HWC bytes, image after image (JSON-safe for the HTTP transport); the renderer draws them.
 */
export interface DatasetPreview {
  split: SplitName;
  width: number;
  height: number;
  channels: number;
  offset: number;
  /** Images in the whole split (for paging). */
  total: number;
  labels: number[];
  classes: string[];
  pixels: string;
}

/** A dataset installed on this machine, and the imported dataset made from it, if any. */
export interface SystemDatasetOffer extends SystemDataset {
  importedAs: number | null;
}

/** The datasets page and `puma datasets`: import, list, preview, class histogram, download. */
export const datasetOperations = {
  'datasets.list': { request: empty, response: res<DatasetInfo[]>() },
  'datasets.get': { request: z.object({ id: DatasetId }).strict(), response: res<DatasetInfo>() },
  /**
   * Starts an import of a file or folder the user chose (a native dialog's answer in Electron;
   * in browser mode a typed path under the allowed roots). Bad paths and names fail here.
   */
  'datasets.import': { request: ImportDatasetRequest, response: res<DatasetImportStarted>() },
  'datasets.imports': { request: empty, response: res<ActiveDatasetImport[]>() },
  'datasets.preview': { request: PreviewRequest, response: res<DatasetPreview>() },
  'datasets.histogram': {
    request: z.object({ id: DatasetId, split: SplitName.default('train') }).strict(),
    response: res<ClassHistogram>(),
  },
  /** Datasets installed by the system (e.g. Debian's Fashion-MNIST in /usr/share/datasets). */
  'datasets.system': { request: empty, response: res<SystemDatasetOffer[]>() },
  /** Fetches a known dataset from its official host, then imports it (events as for an import). */
  'datasets.download': {
    request: z.object({ dataset: DownloadableDataset, name: z.string().trim().min(1).max(200).optional() }).strict(),
    response: res<DatasetImportStarted>(),
  },
  /**
   * A native open dialog; only the Electron app answers it (browser mode refuses: type the path).
   * The chosen path is what a later 'datasets.import' may read.
   */
  'dialog.pickPath': {
    request: z.object({ kind: z.enum(['file', 'folder']), title: z.string().max(200).optional() }).strict(),
    response: res<{ path: string | null }>(),
  },
} as const;
