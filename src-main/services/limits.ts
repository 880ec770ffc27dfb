/**
 * Limits every decoder of untrusted files enforces, in one place so the numbers and the messages
 * agree: imports (gzip, tar, zip/.npz, .npy, IDX, PNG, JPEG), model files and margin files.
 * Sizes a header declares are checked against these before anything is allocated; decompressed
 * output is counted while it streams.
 */
import fs from 'node:fs';

export const LIMITS = {
  /** Decompressed bytes one import may produce in all (gzip, tar.gz, deflated .npz members, decoded images). */
  maxExpandedBytes: 4 * 1024 ** 3,
  /**
   * Past `ratioFloorBytes` of output, a stream expanding more than this many times its input is a
   * bomb: real datasets compress 1:1 (CIFAR, PNGs) to ~5:1 (MNIST); zeros reach 1000:1.
   */
  maxExpansionRatio: 50,
  ratioFloorBytes: 256 * 1024 ** 2,
  /** The same for a folder of PNG/JPEG files: flat synthetic images compress ~100:1 at 64×64. */
  maxImageExpansionRatio: 200,
  /** Images: per side and per image (4096×4096). */
  maxImageSide: 4096,
  maxImagePixels: 4096 * 4096,
  /** One image file (PNG/JPEG) read whole before decoding. */
  maxImageFileBytes: 128 * 1024 ** 2,
  /** Samples (images, labels, margins) in one array. */
  maxSamples: 100_000_000,
  /** numpy itself refuses headers past 10000 bytes unless told otherwise. */
  maxNpyHeaderBytes: 64 * 1024,
  /** Entries of one archive (tar members, zip members): each becomes a file or a directory read. */
  maxArchiveEntries: 500_000,
  /** Tar long-name / pax records (read whole). */
  maxTarHeaderRecordBytes: 1024 * 1024,
  /** JSON files read whole (model.json, training configs). */
  maxJsonBytes: 64 * 1024 ** 2,
  /** Keras topologies nest ~15 deep; deeper is hostile (JSON.stringify and zod recurse). */
  maxJsonDepth: 100,
  /** Weight files of one model, all together. */
  maxModelWeightBytes: 2 * 1024 ** 3,
} as const;

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

/**
 * The decompressed bytes one import may still produce, shared by every stream of that import
 * (the archive, then each gzip member, then decoded images), so many small bombs add up.
 */
export class ExpansionBudget {
  used = 0;
  constructor(readonly limit: number = LIMITS.maxExpandedBytes) {}

  /** Counts `n` more bytes decompressed from `file`; throws once the import is past its limit. */
  take(n: number, file: string): void {
    this.used += n;
    if (this.used > this.limit) throw new Error(bombMessage(file, this.limit));
  }

  /** Refuses before decompressing when a header already declares more than is left. */
  reserve(declared: number, file: string): void {
    if (this.used + declared > this.limit) throw new Error(bombMessage(file, this.limit, declared));
  }
}

/** What to do when a refused archive is genuine: uncompressed files are not limited this way. */
const GENUINE = '. If the data is genuine, unpack it yourself and import the unpacked files';

export function bombMessage(file: string, limit: number, declared?: number): string {
  const says = declared === undefined ? '' : ` (its header declares ${formatBytes(declared)})`;
  return `${file}: expands past ${formatBytes(limit)}, the limit for decompressed data in one import${says}: refused as a decompression bomb (or a corrupt file)${GENUINE}`;
}

/** Counts one stream's ratio of output to input: beyond the floor, data this repetitive is a bomb. */
export function checkExpansionRatio(file: string, output: number, input: number, ratio: number = LIMITS.maxExpansionRatio): void {
  if (output > LIMITS.ratioFloorBytes && output > ratio * Math.max(1, input)) {
    throw new Error(
      `${file}: expands past ${formatBytes(output)} from ${formatBytes(input)} of compressed data (over ${ratio}:1): refused as a decompression bomb${GENUINE}`,
    );
  }
}

/** A header's dimension: a non-negative safe integer, else an error naming `where` and the value. */
export function checkDimension(value: unknown, where: string, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${where}: ${what} is ${String(value)}; a dimension must be a whole number ≥ 0`);
  }
  return value;
}

/** Image height × width within the per-image limits. */
export function checkImageSize(height: number, width: number, where: string): void {
  if (!(height >= 1 && width >= 1)) throw new Error(`${where}: image size ${height}×${width} is empty`);
  if (height > LIMITS.maxImageSide || width > LIMITS.maxImageSide || height * width > LIMITS.maxImagePixels) {
    throw new Error(`${where}: images of ${width}×${height} pixels are past the limit of ${LIMITS.maxImageSide}×${LIMITS.maxImageSide}`);
  }
}

/** A sample count within limits (and not zero: an empty split cannot be trained on). */
export function checkSampleCount(n: number, where: string, what = 'images'): void {
  if (n === 0) throw new Error(`${where}: holds 0 ${what}; a dataset needs at least one`);
  if (n > LIMITS.maxSamples) throw new Error(`${where}: declares ${n} ${what}, past the limit of ${LIMITS.maxSamples}`);
}

/**
 * Deepest nesting of arrays/objects in JSON text, by one scan outside strings; stops counting
 * once past `max` (the text is then refused before JSON.parse builds anything).
 */
export function jsonDepth(text: string, max = Infinity): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest) deepest = depth;
      if (deepest > max) return deepest;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/** JSON.parse with a nesting limit; the error names `where`. Messages never echo the text. */
export function parseJsonText(text: string, where: string, maxDepth: number = LIMITS.maxJsonDepth): unknown {
  if (jsonDepth(text, maxDepth) > maxDepth) throw new Error(`${where}: JSON nested deeper than ${maxDepth} levels; refused`);
  try {
    return JSON.parse(text);
  } catch (e) {
    // V8's messages quote the text ("… is not valid JSON"): keep only the position
    const at = /position (\d+)/.exec((e as Error).message)?.[1];
    // eslint-disable-next-line preserve-caught-error -- the parser's error quotes the file's text; it must not travel on
    throw new Error(`${where}: not valid JSON${at ? ` (error at character ${at})` : ''}`);
  }
}

/** A JSON file read whole within the size and nesting limits. */
export function readJsonFile(file: string, maxBytes: number = LIMITS.maxJsonBytes): unknown {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
  if (size > maxBytes) throw new Error(`${file}: ${formatBytes(size)}, past the limit of ${formatBytes(maxBytes)} for a JSON file`);
  return parseJsonText(fs.readFileSync(file, 'utf8'), file);
}
