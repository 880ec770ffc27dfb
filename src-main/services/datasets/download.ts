import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { DownloadableDataset } from '../../../src-shared/domain/datasets';

export interface RemoteFile {
  /** File name on disk. */
  file: string;
  /** The official host first, then mirrors. */
  urls: string[];
  md5: string;
}

/** Official sources (with the md5 sums their maintainers publish). */
export const KNOWN_DOWNLOADS: Record<
  DownloadableDataset,
  { files: RemoteFile[]; /** what to import */ importPath: string; /** bytes once decompressed (the import allows twice this) */ expandedBytes: number }
> = {
  cifar10: {
    importPath: 'cifar-10-binary.tar.gz',
    // six batches of 10000 records of 3073 bytes, plus tar headers and batches.meta.txt
    expandedBytes: 60_000 * 3073 + 64 * 1024,
    files: [{ file: 'cifar-10-binary.tar.gz', urls: ['https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz'], md5: 'c32a1d4ab5d03f1284b67883e8d87530' }],
  },
  mnist: {
    importPath: '.',
    // 70000 images of 28×28 and their labels, with the IDX headers
    expandedBytes: 70_000 * (28 * 28 + 1) + 4 * 32,
    files: [
      ['train-images-idx3-ubyte.gz', 'f68b3c2dcbeaaa9fbdd348bbdeb94873'],
      ['train-labels-idx1-ubyte.gz', 'd53e105ee54ea40749a09fcbcd1e9432'],
      ['t10k-images-idx3-ubyte.gz', '9fb629c4189551a2d022fa330f9573f3'],
      ['t10k-labels-idx1-ubyte.gz', 'ec29112dd5afa0611ce80d1b7f02629c'],
    ].map(([file, md5]) => ({
      file,
      md5,
      urls: [`https://yann.lecun.com/exdb/mnist/${file}`, `https://ossci-datasets.s3.amazonaws.com/mnist/${file}`],
    })),
  },
  'fashion-mnist': {
    importPath: '.',
    expandedBytes: 70_000 * (28 * 28 + 1) + 4 * 32,
    files: [
      ['train-images-idx3-ubyte.gz', '8d4fb7e6c68d591d4c3dfef9ec88bf0d'],
      ['train-labels-idx1-ubyte.gz', '25c81989df183df01b3e8a0aad5dffbe'],
      ['t10k-images-idx3-ubyte.gz', 'bef4ecab320f06d8554ea6380940ec79'],
      ['t10k-labels-idx1-ubyte.gz', 'bb300cfdad3c16e7a12a480ee83fd310'],
    ].map(([file, md5]) => ({ file, md5, urls: [`http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/${file}`] })),
  },
};

export interface DownloadOptions {
  md5?: string;
  /** A response longer than this is refused (announced or while streaming) and its partial file deleted. */
  maxBytes?: number;
  /** bytes done, total bytes (null when the server does not say). */
  onProgress?: (done: number, total: number | null) => void;
  signal?: AbortSignal;
}

function md5OfFile(file: string): string {
  const hash = crypto.createHash('md5');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
  try {
    for (let pos = 0; ;) {
      const n = fs.readSync(fd, buf, 0, buf.length, pos);
      if (!n) break;
      hash.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/** Thrown when the host cannot be reached; says which file to fetch by hand and where to put it. */
export class OfflineError extends Error {}

/** The server answered, but not with the file (404, 500, …): another mirror may have it. */
export class HttpStatusError extends Error {}

/** What the server sent is not the file (too large, empty): the partial file is dropped, not resumed. */
export class RefusedDownload extends Error {}

/**
 * Downloads `url` to `dest` through `dest.part`: a partial file from an earlier attempt is
 * resumed with an HTTP Range request; the finished file is checked against its md5 before it
 * is renamed into place (a mismatch deletes it).
 */
export async function downloadFile(url: string, dest: string, opts: DownloadOptions = {}): Promise<string> {
  if (fs.existsSync(dest) && (!opts.md5 || md5OfFile(dest) === opts.md5)) return dest;
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  let start = fs.existsSync(part) ? fs.statSync(part).size : 0;
  let res: Response;
  try {
    res = await fetch(url, { headers: start ? { Range: `bytes=${start}-` } : {}, signal: opts.signal });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new OfflineError(
      `Could not download ${url} (${cause?.code ?? cause?.message ?? (e as Error).message}). ` +
        `Without internet access, download that file on another machine and put it at ${dest}, then run the import again.`,
    );
  }
  if (res.status === 416 && start > 0) {
    // the partial file is already whole
    await res.body?.cancel();
  } else {
    if (res.status !== 200 && res.status !== 206) {
      await res.body?.cancel();
      throw new HttpStatusError(`${url}: the server answered HTTP ${res.status} ${res.statusText}; put the file at ${dest} by hand instead`);
    }
    if (res.status === 200) start = 0; // the server ignored the range: start over
    const length = Number(res.headers.get('content-length'));
    const total = Number.isFinite(length) && length > 0 ? start + length : null;
    const max = opts.maxBytes ?? Infinity;
    const tooLong = (n: number) =>
      new RefusedDownload(`${url}: the server sends ${n} bytes or more, past the ${max} this file can be; refused (wrong file or a hostile server)`);
    if (total !== null && total > max) {
      await res.body?.cancel();
      fs.rmSync(part, { force: true });
      throw tooLong(total);
    }
    const fd = fs.openSync(part, start ? 'r+' : 'w');
    let done = start;
    let discard = false;
    try {
      if (!res.body) throw new RefusedDownload(`${url}: empty response`);
      const reader = res.body.getReader();
      for (;;) {
        const { value, done: end } = await reader.read();
        if (end) break;
        if (done + value.length > max) {
          await reader.cancel();
          throw tooLong(done + value.length);
        }
        let off = 0;
        while (off < value.length) off += fs.writeSync(fd, value, off, value.length - off, done + off);
        done += value.length;
        opts.onProgress?.(done, total);
      }
      fs.ftruncateSync(fd, done);
    } catch (e) {
      if (e instanceof RefusedDownload) {
        discard = true;
        throw e;
      }
      throw new OfflineError(
        `Download of ${url} was interrupted at ${done} bytes (${(e as Error).message}); run it again to resume, or put the file at ${dest} by hand.`,
      );
    } finally {
      fs.closeSync(fd);
      // a refused response is not resumed
      if (discard) fs.rmSync(part, { force: true });
    }
    if (total !== null && done !== total) {
      throw new OfflineError(`Download of ${url} stopped at ${done} of ${total} bytes; run it again to resume, or put the file at ${dest} by hand.`);
    }
  }
  if (opts.md5) {
    const got = md5OfFile(part);
    if (got !== opts.md5) {
      fs.rmSync(part, { force: true });
      throw new Error(`${dest}: checksum mismatch (md5 ${got}, expected ${opts.md5}); the damaged download was deleted, try again`);
    }
  }
  fs.renameSync(part, dest);
  return dest;
}

/**
 * Fetches every file of a known dataset into `dir` (trying mirrors in turn) and returns the path
 * to import. Offline, the error lists each missing file with its URL and where it belongs.
 */
export async function downloadKnownDataset(
  name: DownloadableDataset,
  dir: string,
  onProgress?: (fraction: number, text: string) => void,
  opts: { signal?: AbortSignal; urlOverride?: (f: RemoteFile) => string[] } = {},
): Promise<string> {
  const spec = KNOWN_DOWNLOADS[name];
  const offline: string[] = [];
  for (let i = 0; i < spec.files.length; i++) {
    const f = spec.files[i];
    const dest = path.join(dir, f.file);
    let lastError: Error | null = null;
    for (const url of opts.urlOverride?.(f) ?? f.urls) {
      try {
        await downloadFile(url, dest, {
          md5: f.md5,
          // no file of a known dataset is bigger than the dataset once decompressed
          maxBytes: 2 * spec.expandedBytes,
          signal: opts.signal,
          onProgress: (done, total) => onProgress?.((i + (total ? done / total : 0)) / spec.files.length, `${f.file}: ${(done / 1e6).toFixed(1)} MB`),
        });
        lastError = null;
        break;
      } catch (e) {
        lastError = e as Error;
        if (!(e instanceof OfflineError || e instanceof HttpStatusError)) throw e;
      }
    }
    if (lastError) offline.push(`${(opts.urlOverride?.(f) ?? f.urls)[0]} → ${dest}`);
  }
  if (offline.length) {
    throw new OfflineError(`Could not download ${name} (no internet?). Put these files in place by hand, then import again:\n  ${offline.join('\n  ')}`);
  }
  onProgress?.(1, 'downloaded');
  return path.join(dir, spec.importPath);
}
