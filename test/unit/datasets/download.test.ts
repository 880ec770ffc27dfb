import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { downloadFile, downloadKnownDataset, OfflineError } from '../../../src-main/services/datasets/download';
import { pseudoBytes } from './writers';

const BODY = Buffer.from(pseudoBytes(300_000, 42));
const MD5 = crypto.createHash('md5').update(BODY).digest('hex');
const ranges: (string | undefined)[] = [];
let server: http.Server;
let base: string;
let dir: string;

/** /file honours Range; /norange ignores it; /cut sends half the body then drops the connection. */
beforeAll(async () => {
  server = http.createServer((req, res) => {
    ranges.push(req.headers.range);
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (req.url === '/file' && m) {
      const from = Number(m[1]);
      if (from >= BODY.length) return void res.writeHead(416).end();
      res.writeHead(206, { 'content-length': BODY.length - from, 'content-range': `bytes ${from}-${BODY.length - 1}/${BODY.length}` });
      return void res.end(BODY.subarray(from));
    }
    if (req.url === '/file' || req.url === '/norange') {
      res.writeHead(200, { 'content-length': BODY.length });
      return void res.end(BODY);
    }
    if (req.url === '/endless') {
      // no length announced, and more data than any dataset file
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024);
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      req.on('close', () => res.destroy());
      return pump();
    }
    if (req.url === '/huge') {
      res.writeHead(200, { 'content-length': 10_000_000_000 });
      res.write(BODY.subarray(0, 10));
      setTimeout(() => res.destroy(), 500);
      return;
    }
    if (req.url === '/cut') {
      res.writeHead(200, { 'content-length': BODY.length });
      res.write(BODY.subarray(0, 100_000), () => res.destroy());
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'puma-dl-'));
  ranges.length = 0;
  return () => fs.rmSync(dir, { recursive: true, force: true });
});

async function closedPortUrl(file: string): Promise<string> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}/${file}`;
}

describe('downloadFile', () => {
  it('refuses a response longer than the file can be, announced or streamed, and keeps no partial file', async () => {
    const dest = path.join(dir, 'x.bin');
    await expect(downloadFile(`${base}/huge`, dest, { maxBytes: 1_000_000 })).rejects.toThrow(
      /\/huge: the server sends 10000000000 bytes or more, past the 1000000/,
    );
    await expect(downloadFile(`${base}/endless`, dest, { maxBytes: 1_000_000 })).rejects.toThrow(
      /\/endless: the server sends 10\d{5} bytes or more, past the 1000000 this file can be; refused/,
    );
    expect(fs.readdirSync(dir)).toEqual([]);
    // within the limit, the same call succeeds
    await downloadFile(`${base}/file`, dest, { md5: MD5, maxBytes: BODY.length });
    expect(fs.readFileSync(dest).equals(BODY)).toBe(true);
  });

  it('downloads, reports progress and checks the md5', async () => {
    const dest = path.join(dir, 'x.bin');
    const seen: [number, number | null][] = [];
    await downloadFile(`${base}/file`, dest, { md5: MD5, onProgress: (d, t) => seen.push([d, t]) });
    expect(Buffer.compare(fs.readFileSync(dest), BODY)).toBe(0);
    expect(seen.at(-1)).toEqual([BODY.length, BODY.length]);
    expect(fs.existsSync(`${dest}.part`)).toBe(false);
    // a finished file with the right checksum is not fetched again
    await downloadFile(`${base}/file`, dest, { md5: MD5 });
    expect(ranges).toHaveLength(1);
  });

  it('resumes a partial file with a Range request', async () => {
    const dest = path.join(dir, 'x.bin');
    fs.writeFileSync(`${dest}.part`, BODY.subarray(0, 123_456));
    await downloadFile(`${base}/file`, dest, { md5: MD5 });
    expect(ranges).toEqual(['bytes=123456-']);
    expect(Buffer.compare(fs.readFileSync(dest), BODY)).toBe(0);
  });

  it('starts over when the server ignores the range', async () => {
    const dest = path.join(dir, 'x.bin');
    fs.writeFileSync(`${dest}.part`, Buffer.alloc(5000, 7));
    await downloadFile(`${base}/norange`, dest, { md5: MD5 });
    expect(Buffer.compare(fs.readFileSync(dest), BODY)).toBe(0);
  });

  it('continues after an interrupted transfer', async () => {
    const dest = path.join(dir, 'x.bin');
    await expect(downloadFile(`${base}/cut`, dest, { md5: MD5 })).rejects.toThrow(/run it again to resume/);
    const partial = fs.statSync(`${dest}.part`).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(BODY.length);
    await downloadFile(`${base}/file`, dest, { md5: MD5 });
    expect(ranges.at(-1)).toBe(`bytes=${partial}-`);
    expect(Buffer.compare(fs.readFileSync(dest), BODY)).toBe(0);
  });

  it('deletes a download whose checksum does not match', async () => {
    const dest = path.join(dir, 'x.bin');
    await expect(downloadFile(`${base}/file`, dest, { md5: '0'.repeat(32) })).rejects.toThrow(
      new RegExp(`${dest.replace(/[.]/g, '\\.')}: checksum mismatch \\(md5 ${MD5}, expected 0{32}\\)`),
    );
    expect(fs.existsSync(dest)).toBe(false);
    expect(fs.existsSync(`${dest}.part`)).toBe(false);
  });

  it('offline: says which file to put where', async () => {
    const url = await closedPortUrl('train-images-idx3-ubyte.gz');
    const dest = path.join(dir, 'train-images-idx3-ubyte.gz');
    const err = await downloadFile(url, dest).catch((e) => e);
    expect(err).toBeInstanceOf(OfflineError);
    expect(err.message).toContain(url);
    expect(err.message).toContain(`put it at ${dest}`);
    expect(err.message).toMatch(/ECONNREFUSED/);
  });

  it('HTTP errors name the URL and status', async () => {
    await expect(downloadFile(`${base}/missing`, path.join(dir, 'm'))).rejects.toThrow(`${base}/missing: the server answered HTTP 404`);
  });
});

describe('downloadKnownDataset', () => {
  it('offline: lists every file of the dataset with its destination', async () => {
    const dead = await closedPortUrl('');
    const err = await downloadKnownDataset('fashion-mnist', dir, undefined, { urlOverride: (f) => [dead + f.file] }).catch((e) => e);
    expect(err).toBeInstanceOf(OfflineError);
    for (const f of ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']) {
      expect(err.message).toContain(`${dead}${f} → ${path.join(dir, f)}`);
    }
  });
});
