/**
 * Dataset import and training-pool throughput. Prints one JSON object.
 *
 *   npx tsx bench/datasets.ts              # 1M images of 32×32×3 (≈ 3 GB in /tmp, deleted afterwards)
 *   npx tsx bench/datasets.ts --images 50000
 *
 * Targets (issue 5): .npz import ≥ 100 MB/s with peak RSS < 1.5 GB; pool ≥ 20k augmented img/s.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { parseArgs } from 'node:util';
import { openDatabase } from '../src-main/store/db';
import { DatasetService } from '../src-main/services/datasets/service';
import { TrainingPool } from '../src-main/services/datasets/pool';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '1000000' },
    originals: { type: 'string', default: '50000' },
    'pool-batches': { type: 'string', default: '400' },
    'batch-size': { type: 'string', default: '128' },
    repeats: { type: 'string', default: '1' },
  },
});
const N = Number(values.images);
const N_ORIG = Math.min(Number(values.originals), N);
const H = 32,
  W = 32,
  C = 3,
  IMG = H * W * C;

function npyHeader(descr: string, shape: number[]): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  dict += ' '.repeat((64 - ((10 + dict.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head[0] = 0x93;
  head.write('NUMPY', 1, 'latin1');
  head[6] = 1;
  head.writeUInt16LE(dict.length, 8);
  return Buffer.concat([head, Buffer.from(dict, 'latin1')]);
}

/**
 * Streams an uncompressed zip64 .npz like np.savez writes (keys image, label), never holding the
 * images in memory: pixel chunks are generated, CRC'd and appended.
 */
function writeSyntheticNpz(file: string, n: number): number {
  const fd = fs.openSync(file, 'w');
  let offset = 0;
  const central: Buffer[] = [];
  const put = (b: Uint8Array) => {
    fs.writeSync(fd, b);
    offset += b.length;
  };
  const member = (name: string, header: Buffer, dataBytes: number, chunks: () => Generator<Uint8Array>) => {
    const size = header.length + dataBytes;
    const start = offset;
    const nameBuf = Buffer.from(name);
    const local = Buffer.alloc(30 + nameBuf.length + 20);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(45, 4);
    local.writeUInt32LE(0xffffffff, 18);
    local.writeUInt32LE(0xffffffff, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    local.writeUInt16LE(20, 28);
    nameBuf.copy(local, 30);
    local.writeUInt16LE(1, 30 + nameBuf.length);
    local.writeUInt16LE(16, 32 + nameBuf.length);
    local.writeBigUInt64LE(BigInt(size), 34 + nameBuf.length);
    local.writeBigUInt64LE(BigInt(size), 42 + nameBuf.length);
    put(local);
    let crc = zlib.crc32(header);
    put(header);
    for (const c of chunks()) {
      crc = zlib.crc32(c, crc);
      put(c);
    }
    fs.writeSync(fd, Uint8Array.of(crc & 0xff, (crc >>> 8) & 0xff, (crc >>> 16) & 0xff, crc >>> 24), 0, 4, start + 14);
    const cd = Buffer.alloc(46 + nameBuf.length + 28);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(45, 4);
    cd.writeUInt16LE(45, 6);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(0xffffffff, 20);
    cd.writeUInt32LE(0xffffffff, 24);
    cd.writeUInt16LE(nameBuf.length, 28);
    cd.writeUInt16LE(28, 30);
    cd.writeUInt32LE(0xffffffff, 42);
    nameBuf.copy(cd, 46);
    const e = 46 + nameBuf.length;
    cd.writeUInt16LE(1, e);
    cd.writeUInt16LE(24, e + 2);
    cd.writeBigUInt64LE(BigInt(size), e + 4);
    cd.writeBigUInt64LE(BigInt(size), e + 12);
    cd.writeBigUInt64LE(BigInt(start), e + 20);
    central.push(cd);
  };
  const perChunk = 4096;
  member('image.npy', npyHeader('|u1', [n, H, W, C]), n * IMG, function* () {
    const buf = new Uint8Array(perChunk * IMG);
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 2654435761) >>> 24;
    for (let s = 0; s < n; s += perChunk) {
      const k = Math.min(perChunk, n - s);
      buf[0] = s & 0xff; // vary content a little per chunk
      yield buf.subarray(0, k * IMG);
    }
  });
  member('label.npy', npyHeader('<i8', [n]), n * 8, function* () {
    const b = Buffer.alloc(n * 8);
    for (let i = 0; i < n; i++) b.writeBigInt64LE(BigInt(Math.floor(i / Math.ceil(n / 10))), i * 8);
    yield b;
  });
  const cdStart = offset;
  const cd = Buffer.concat(central);
  put(cd);
  const e64 = Buffer.alloc(56 + 20 + 22);
  e64.writeUInt32LE(0x06064b50, 0);
  e64.writeBigUInt64LE(44n, 4);
  e64.writeUInt16LE(45, 12);
  e64.writeUInt16LE(45, 14);
  e64.writeBigUInt64LE(2n, 24);
  e64.writeBigUInt64LE(2n, 32);
  e64.writeBigUInt64LE(BigInt(cd.length), 40);
  e64.writeBigUInt64LE(BigInt(cdStart), 48);
  e64.writeUInt32LE(0x07064b50, 56);
  e64.writeBigUInt64LE(BigInt(cdStart + cd.length), 64);
  e64.writeUInt32LE(1, 72);
  e64.writeUInt32LE(0x06054b50, 76);
  e64.writeUInt16LE(0xffff, 84);
  e64.writeUInt16LE(0xffff, 86);
  e64.writeUInt32LE(0xffffffff, 88);
  e64.writeUInt32LE(0xffffffff, 92);
  put(e64);
  fs.closeSync(fd);
  return offset;
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'puma-bench-datasets-'));
const result: Record<string, unknown> = { images: N, shape: [H, W, C], originals: N_ORIG };
try {
  const npz = path.join(work, 'generated.npz');
  const origNpz = path.join(work, 'original.npz');
  const bytes = writeSyntheticNpz(npz, N);
  writeSyntheticNpz(origNpz, N_ORIG);
  result.npz_bytes = bytes;
  const imports: { seconds: number; mb_per_s: number }[] = [];
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  const rssBefore = process.memoryUsage().rss;
  let service!: DatasetService;
  let genId = 0;
  for (let r = 0; r < Number(values.repeats); r++) {
    const dataDir = path.join(work, `data${r}`);
    service = new DatasetService(openDatabase(path.join(work, `puma${r}.db`)), dataDir);
    const base = await service.importDataset({ path: origNpz, name: 'original' });
    const t0 = performance.now();
    const info = await service.importDataset({ path: npz, name: 'generated', generatedFor: base.id }, () => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    });
    const seconds = (performance.now() - t0) / 1000;
    imports.push({ seconds: +seconds.toFixed(3), mb_per_s: +(bytes / 1e6 / seconds).toFixed(1) });
    genId = info.id;
    if (r < Number(values.repeats) - 1) fs.rmSync(dataDir, { recursive: true, force: true });
  }
  clearInterval(sampler);
  result.import = imports;
  result.import_best_mb_per_s = Math.max(...imports.map((x) => x.mb_per_s));
  result.rss_before_mb = Math.round(rssBefore / 1e6);
  result.import_peak_rss_mb = Math.round(Math.max(peakRss, process.resourceUsage().maxRSS * 1024) / 1e6);
  fs.rmSync(npz);

  // pool: originals preloaded (CIFAR-size), generated read from disk by ranges
  const original = service.openSplit('original', 'train');
  const generated = service.openSplit(genId, 'train');
  const bs = Number(values['batch-size']);
  const pool = new TrainingPool(original, generated, { batchSize: bs, seed: 1, samplesPerEpoch: bs * Number(values['pool-batches']) });
  const runs: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    let n = 0;
    for (const b of pool.epoch(r)) n += b.labels.length;
    runs.push(Math.round(n / ((performance.now() - t0) / 1000)));
  }
  original.close();
  generated.close();
  result.pool_img_per_s = runs;
  result.pool_best_img_per_s = Math.max(...runs);
  result.targets = {
    import_mb_per_s: 100,
    import_peak_rss_mb: 1500,
    pool_img_per_s: 20000,
    met: (result.import_best_mb_per_s as number) >= 100 && (result.import_peak_rss_mb as number) < 1500 && (result.pool_best_img_per_s as number) >= 20000,
  };
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
console.log(JSON.stringify(result, null, 2));
