import fs from 'node:fs';
import path from 'node:path';
import type { DatasetFormat, DatasetFormatOrAuto } from '../../../src-shared/domain/datasets';
import { cifarFiles } from './formats/cifar';
import { looksLikeImageFolder } from './formats/folder';
import { idxPairs, isIdxFileName } from './formats/idx';
import { npyPair } from './formats/npy';

export const TAR_NAME = /\.(tar|tar\.gz|tgz)$/i;

/** Where a reader should look: the folder of a batch/IDX/npy file, or the file itself for .npz. */
export interface Detected {
  format: DatasetFormat;
  location: string;
}

function detectDir(dir: string): Detected | null {
  if (cifarFiles(dir, 'cifar10').length) return { format: 'cifar10', location: dir };
  if (cifarFiles(dir, 'cifar100').length) return { format: 'cifar100', location: dir };
  if (idxPairs(dir).length) return { format: 'idx', location: dir };
  if (npyPair(dir)) return { format: 'npy', location: dir };
  const entries = fs.readdirSync(dir, { withFileTypes: true });
  const npz = entries.filter((e) => e.isFile() && /\.npz$/i.test(e.name));
  if (npz.length === 1) return { format: 'npz', location: path.join(dir, npz[0].name) };
  if (looksLikeImageFolder(dir)) return { format: 'folder', location: dir };
  // the official archives unpack into one folder (cifar-10-batches-bin/, cifar-100-binary/)
  const sub = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.'));
  if (sub.length === 1) return detectDir(path.join(dir, sub[0].name));
  return null;
}

/** Format auto-detection from names and layout; a given format is checked against the layout. */
export function detectFormat(p: string, requested: DatasetFormatOrAuto = 'auto'): Detected {
  const stat = fs.statSync(p);
  let found: Detected | null;
  if (stat.isDirectory()) found = detectDir(p);
  else {
    const base = path.basename(p);
    if (/\.npz$/i.test(base)) found = { format: 'npz', location: p };
    else if (/\.npy$/i.test(base) || /\.bin$/i.test(base) || isIdxFileName(base)) found = detectDir(path.dirname(p));
    else found = null;
  }
  if (requested !== 'auto') {
    if (found && found.format === requested) return found;
    if (requested === 'npz' && !stat.isDirectory()) return { format: 'npz', location: p };
    const location = stat.isDirectory() ? p : requested === 'npz' ? p : path.dirname(p);
    return { format: requested, location };
  }
  if (!found) {
    throw new Error(
      `${p}: cannot tell the dataset format. Expected a CIFAR-10/100 binary folder (data_batch_1.bin…, train.bin/test.bin), ` +
        `an IDX folder (train-images-idx3-ubyte(.gz)…), an .npz with keys image and label, image.npy + label.npy, ` +
        `a .tar.gz of one of these, or a folder with one sub-folder of PNG/JPEG images per class`,
    );
  }
  return found;
}
