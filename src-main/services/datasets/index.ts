/** The datasets domain: import, storage, readers, the training pool and downloads. */
export { DatasetService, type ProgressFn } from './service';
