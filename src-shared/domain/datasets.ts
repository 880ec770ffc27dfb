import { z } from 'zod';

/** Formats the importer understands; 'auto' detects from the file or folder layout. */
export const DatasetFormat = z.enum(['cifar10', 'cifar100', 'idx', 'npz', 'npy', 'folder']);
export type DatasetFormat = z.infer<typeof DatasetFormat>;

export const DatasetFormatOrAuto = z.enum(['auto', ...DatasetFormat.options]);
export type DatasetFormatOrAuto = z.infer<typeof DatasetFormatOrAuto>;

/** Splits kept per dataset; a generated set has only 'train'. */
export const SplitName = z.enum(['train', 'test']);
export type SplitName = z.infer<typeof SplitName>;

export const DatasetId = z.number().int().positive();

/** What `puma datasets import` and the Datasets page send. */
export const ImportDatasetRequest = z
  .object({
    /** A file (.npz, .npy, .tar.gz, .gz, .bin) or a folder. */
    path: z.string().min(1).max(4096),
    name: z.string().trim().min(1).max(200),
    format: DatasetFormatOrAuto.default('auto'),
    /** Id or name of the dataset this generated set belongs to (its classes and shape must match). */
    generatedFor: z.union([DatasetId, z.string().min(1).max(200)]).optional(),
    /** Class names when the source has none (npz, npy); defaults to "0", "1", ... */
    classNames: z.array(z.string().min(1).max(200)).max(256).optional(),
  })
  .strict();
export type ImportDatasetRequest = z.infer<typeof ImportDatasetRequest>;
export type ImportDatasetRequestInput = z.input<typeof ImportDatasetRequest>;

export const SplitSummary = z.object({
  count: z.number().int().nonnegative(),
  /** Samples per class, indexed like `classes`. */
  perClass: z.array(z.number().int().nonnegative()),
});
export type SplitSummary = z.infer<typeof SplitSummary>;

/** The manifest of one imported dataset, as kept in the log. JSON-friendly. */
export const DatasetInfo = z.object({
  id: DatasetId,
  name: z.string(),
  format: DatasetFormat,
  /** Where it was imported from (file or folder the user chose). */
  sourcePath: z.string(),
  /** sha256 of the stored uint8 content (shape, images, labels per split). */
  hash: z.string(),
  /** [height, width, channels] of every image. */
  shape: z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]),
  classes: z.array(z.string()),
  splits: z.object({ train: SplitSummary.optional(), test: SplitSummary.optional() }),
  /** Id of the base dataset when this one is its generated part. */
  generatedFor: DatasetId.nullable(),
  /** Folder holding `<split>-images.u8` (N×H×W×C uint8) and `<split>-labels.u8`. */
  storageDir: z.string(),
  createdAt: z.string(),
});
export type DatasetInfo = z.infer<typeof DatasetInfo>;

export const PreviewRequest = z
  .object({
    id: DatasetId,
    split: SplitName.default('train'),
    offset: z.number().int().nonnegative().default(0),
    count: z.number().int().min(1).max(1024).default(64),
  })
  .strict();
export type PreviewRequest = z.infer<typeof PreviewRequest>;

/** Raw uint8 HWC images for thumbnails; the renderer draws them on a canvas. */
export interface PreviewResponse {
  width: number;
  height: number;
  channels: number;
  offset: number;
  labels: number[];
  images: Uint8Array[];
}

export interface ClassHistogram {
  split: SplitName;
  classes: string[];
  counts: number[];
}

/** A dataset found in a well-known system folder (e.g. Debian's dataset-fashion-mnist). */
export const SystemDataset = z.object({ name: z.string(), path: z.string(), format: DatasetFormat });
export type SystemDataset = z.infer<typeof SystemDataset>;

/** Datasets the app can fetch from their official hosts. */
export const DownloadableDataset = z.enum(['cifar10', 'mnist', 'fashion-mnist']);
export type DownloadableDataset = z.infer<typeof DownloadableDataset>;
