/** The datasets domain: import, storage, readers, the training pool and downloads. */
export { DatasetService, FASHION_MNIST_CLASSES, type DatasetServiceOptions, type ProgressFn } from './service';
export { SplitReader, PRELOAD_LIMIT_BYTES } from './reader';
export { TrainingPool, type PoolBatch, type PoolOptions } from './pool';
export { assertUserChosenPath } from '../path-policy';
export { detectFormat, type Detected } from './detect';
export { downloadFile, downloadKnownDataset, KNOWN_DOWNLOADS, OfflineError, type DownloadOptions, type RemoteFile } from './download';
export { DEFAULT_MAX_EXPANDED_BYTES } from './bytes';
export { imagesFile, labelsFile } from './builder';
