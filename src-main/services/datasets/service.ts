import fs from 'node:fs';
import path from 'node:path';
import type { Db } from '../../store/db';
import { DatasetsRepo } from '../../store/repos/datasets';
import {
  ImportDatasetRequest,
  type ClassHistogram,
  type DatasetInfo,
  type DownloadableDataset,
  type ImportDatasetRequestInput,
  type PreviewResponse,
  type SplitName,
  type SystemDataset,
} from '../../../src-shared/domain/datasets';
import { DatasetBuilder } from './builder';
import { ExpansionBudget } from '../limits';
import { DEFAULT_MAX_EXPANDED_BYTES, yieldToEventLoop } from './bytes';
import { detectFormat, TAR_NAME, type Detected } from './detect';
import { downloadKnownDataset, KNOWN_DOWNLOADS } from './download';
import { readCifar } from './formats/cifar';
import type { ImportContext, ReadResult } from './formats/context';
import { readImageFolder } from './formats/folder';
import { readIdx } from './formats/idx';
import { readNpyPair, readNpz } from './formats/npy';
import { extractTar } from './formats/tar';
import { SplitReader } from './reader';
import { BadRequest, Conflict, NotFound } from '../../../src-shared/api/errors';
import { DEFAULT_SYSTEM_ROOTS } from '../path-policy';

export type ProgressFn = (fraction: number, text: string) => void;

export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

export interface DatasetServiceOptions {
  /**
   * Decompressed bytes one import may produce in all (tar.gz, gzip, deflated npz members, decoded
   * PNG/JPEG pixels); default LIMITS.maxExpandedBytes (4 GiB). A known download gets twice its size.
   */
  maxExpandedBytes?: number;
  /** Folders searched by detectSystemDatasets. */
  systemRoots?: string[];
}

/**
 * Imports datasets into content-hashed uint8 folders under `<dataDir>/datasets/<hash>/` and keeps
 * their manifests in the log. An import works in a temporary folder; only a complete, valid
 * result is renamed into place and recorded (one transaction), so a failure leaves nothing behind.
 */
export class DatasetService {
  readonly repo: DatasetsRepo;
  readonly root: string;
  readonly downloadsDir: string;
  private readonly maxExpandedBytes: number;
  private readonly systemRoots: string[];

  constructor(
    private readonly db: Db,
    dataDir: string,
    opts: DatasetServiceOptions = {},
  ) {
    this.repo = new DatasetsRepo(db);
    this.root = path.join(dataDir, 'datasets');
    this.downloadsDir = path.join(dataDir, 'downloads');
    this.maxExpandedBytes = opts.maxExpandedBytes ?? DEFAULT_MAX_EXPANDED_BYTES;
    this.systemRoots = opts.systemRoots ?? DEFAULT_SYSTEM_ROOTS;
  }

  list(): DatasetInfo[] {
    return this.repo.list();
  }

  /** By id, or by name (a string of digits is tried as an id first). */
  get(idOrName: number | string): DatasetInfo {
    const found =
      typeof idOrName === 'number'
        ? this.repo.get(idOrName)
        : ((/^\d+$/.test(idOrName) ? this.repo.get(Number(idOrName)) : undefined) ?? this.repo.getByName(idOrName));
    if (!found) throw new NotFound(`No dataset ${typeof idOrName === 'number' ? `with id ${idOrName}` : `named "${idOrName}"`}`);
    return found;
  }

  /** Generated sets attached to a base dataset. */
  generatedFor(baseId: number): DatasetInfo[] {
    return this.repo.generatedFor(baseId);
  }

  async importDataset(input: ImportDatasetRequestInput, onProgress?: ProgressFn, opts: { maxExpandedBytes?: number } = {}): Promise<DatasetInfo> {
    const parsed = ImportDatasetRequest.safeParse(input);
    if (!parsed.success) {
      throw new BadRequest(`Invalid import request: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ')}`);
    }
    const req = parsed.data;
    const source = path.resolve(req.path);
    if (!fs.existsSync(source)) throw new BadRequest(`${source}: no such file or folder`);
    const clash = this.repo.getByName(req.name);
    if (clash) throw new Conflict(`A dataset named "${req.name}" already exists (id ${clash.id}); choose another name`);
    const base = req.generatedFor !== undefined ? this.get(req.generatedFor) : undefined;
    if (base?.generatedFor != null) throw new BadRequest(`Dataset "${base.name}" is itself a generated set; attach to its base dataset`);

    fs.mkdirSync(this.root, { recursive: true });
    const tmp = fs.mkdtempSync(path.join(this.root, '.import-'));
    const storeDir = path.join(tmp, 'store');
    fs.mkdirSync(storeDir);
    const builder = new DatasetBuilder(storeDir);
    const budget = new ExpansionBudget(opts.maxExpandedBytes ?? this.maxExpandedBytes);
    let lastReport = -1;
    const report = (fraction: number, text: string) => {
      const f = Math.min(1, Math.max(0, fraction));
      if (onProgress && (f - lastReport >= 0.005 || f === 1)) {
        lastReport = f;
        onProgress(f, text);
      }
    };
    let createdDir: string | null = null;
    try {
      let detected: Detected;
      let readerShare: [number, number] = [0, 1];
      if (fs.statSync(source).isFile() && TAR_NAME.test(source)) {
        const extractDir = path.join(tmp, 'extract');
        fs.mkdirSync(extractDir);
        await extractTar(source, extractDir, budget, async (f) => {
          report(f * 0.5, `unpacking ${path.basename(source)}`);
          await yieldToEventLoop();
        });
        detected = detectFormat(extractDir, req.format);
        readerShare = [0.5, 0.5];
      } else {
        detected = detectFormat(source, req.format);
      }
      const numClasses = base?.classes.length ?? req.classNames?.length;
      const ctx: ImportContext = {
        builder,
        budget,
        numClasses,
        progress: async (f, text) => {
          report(readerShare[0] + readerShare[1] * f, text);
          await yieldToEventLoop();
        },
      };
      const limits = { numClasses };
      let result: ReadResult;
      switch (detected.format) {
        case 'cifar10':
        case 'cifar100':
          result = await readCifar(detected.location, detected.format, ctx);
          break;
        case 'idx':
          result = await readIdx(detected.location, ctx);
          break;
        case 'npz':
          result = await readNpz(detected.location, ctx, limits);
          break;
        case 'npy':
          result = await readNpyPair(detected.location, ctx, limits);
          break;
        case 'folder':
          result = await readImageFolder(detected.location, ctx);
          break;
      }
      const shape = builder.shape!;
      const labelRange = builder.labelRange();
      let classes = result.classes ?? req.classNames ?? base?.classes;
      if (!classes) {
        classes =
          detected.format === 'idx' && /fashion/i.test(source) && labelRange <= 10
            ? FASHION_MNIST_CLASSES
            : Array.from({ length: Math.max(labelRange, detected.format === 'idx' ? 10 : 0) }, (_, i) => String(i));
      }
      if (labelRange > classes.length) {
        throw new Error(`${source}: labels go up to ${labelRange - 1} but only ${classes.length} class names are known`);
      }
      if (base) {
        if (base.shape.some((v, i) => v !== shape[i])) {
          throw new Error(`${source}: images are ${shape.join('×')} but the base dataset "${base.name}" has ${base.shape.join('×')}`);
        }
        if (classes.length !== base.classes.length) {
          throw new Error(`${source}: ${classes.length} classes but the base dataset "${base.name}" has ${base.classes.length}`);
        }
      }
      const { hash, splits } = builder.finish(classes.length);
      const manifest = {
        name: req.name,
        format: detected.format,
        sourcePath: source,
        hash,
        shape,
        classes,
        splits,
        generatedFor: base?.id ?? null,
      };
      fs.writeFileSync(path.join(storeDir, 'manifest.json'), JSON.stringify({ ...manifest, layout: 'uint8 NHWC per split' }, null, 2));
      const finalDir = path.join(this.root, hash);
      if (!fs.existsSync(finalDir)) {
        try {
          fs.renameSync(storeDir, finalDir);
          createdDir = finalDir;
        } catch (e) {
          // a concurrent import of the same content got there first: share its folder
          const code = (e as NodeJS.ErrnoException).code;
          if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
        }
      }
      const info = this.db.transaction(() => this.repo.insert({ ...manifest, storageDir: finalDir }))();
      createdDir = null;
      report(1, 'done');
      return info;
    } catch (e) {
      builder.abort();
      if (createdDir) fs.rmSync(createdDir, { recursive: true, force: true });
      throw e;
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }

  /**
   * Fetches a known dataset from its official host into `<dataDir>/downloads/<name>/` (resuming
   * a partial file, checking md5), then imports it. Offline, the error says which file to put where.
   */
  async downloadAndImport(dataset: DownloadableDataset, name: string = dataset, onProgress?: ProgressFn): Promise<DatasetInfo> {
    const dir = path.join(this.downloadsDir, dataset);
    const importPath = await downloadKnownDataset(dataset, dir, (f, text) => onProgress?.(f * 0.5, text));
    // a known dataset's size is known: allow twice it, not the general limit
    const maxExpandedBytes = Math.min(this.maxExpandedBytes, 2 * KNOWN_DOWNLOADS[dataset].expandedBytes);
    return this.importDataset({ path: importPath, name }, (f, text) => onProgress?.(0.5 + f * 0.5, text), { maxExpandedBytes });
  }

  /** Removes the manifest; the stored folder goes once no other manifest shares its content. */
  remove(idOrName: number | string): void {
    const d = this.get(idOrName);
    this.db.transaction(() => this.repo.delete(d.id))();
    if (this.repo.countByStorageDir(d.storageDir) === 0) fs.rmSync(d.storageDir, { recursive: true, force: true });
  }

  /** A random-access uint8 reader of one split; close it when done. */
  openSplit(idOrName: number | string, split: SplitName, opts: { preload?: boolean } = {}): SplitReader {
    const d = this.get(idOrName);
    if (!d.splits[split]) throw new BadRequest(`Dataset "${d.name}" has no ${split} split`);
    return new SplitReader(d.storageDir, split, d.shape[0], d.shape[1], d.shape[2], opts);
  }

  previewImages(idOrName: number | string, opts: { split?: SplitName; offset?: number; count?: number } = {}): PreviewResponse {
    const split = opts.split ?? 'train';
    const reader = this.openSplit(idOrName, split, { preload: false });
    try {
      const offset = Math.min(opts.offset ?? 0, reader.count);
      const count = Math.max(0, Math.min(opts.count ?? 64, 1024, reader.count - offset));
      const data = reader.readRange(offset, count);
      const images = Array.from({ length: count }, (_, i) => data.slice(i * reader.imageBytes, (i + 1) * reader.imageBytes));
      return {
        width: reader.width,
        height: reader.height,
        channels: reader.channels,
        offset,
        labels: Array.from(reader.labels.subarray(offset, offset + count)),
        images,
      };
    } finally {
      reader.close();
    }
  }

  classHistogram(idOrName: number | string, split: SplitName = 'train'): ClassHistogram {
    const d = this.get(idOrName);
    const s = d.splits[split];
    if (!s) throw new BadRequest(`Dataset "${d.name}" has no ${split} split`);
    return { split, classes: d.classes, counts: s.perClass };
  }

  /** Datasets installed by the system (e.g. Debian's dataset-fashion-mnist in /usr/share/datasets). */
  detectSystemDatasets(): SystemDataset[] {
    const found: SystemDataset[] = [];
    for (const root of this.systemRoots) {
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(root, { withFileTypes: true });
      } catch {
        continue;
      }
      for (const e of entries) {
        if (!e.isDirectory()) continue;
        const p = path.join(root, e.name);
        try {
          found.push({ name: e.name, path: p, format: detectFormat(p).format });
        } catch {
          /* not a dataset folder */
        }
      }
    }
    return found;
  }
}
