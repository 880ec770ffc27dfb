import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forkJobLauncher } from '../../src-main/jobs/fork-launcher';
import { PumaApp } from '../../src-main/services/app';
import { startHttpServer, type RunningServer } from '../../src-main/transport/http';
import { tempDir } from '../helpers/tmp';

let app: PumaApp;
let server: RunningServer;
let cleanup: () => void;
/** The only folder requests may name files in (besides the app's data folder), and one outside it. */
let allowed: string;
let outside: string;
const SECRET = 'root:*:20200:0:99999:7:::\nsecret-line-that-must-not-come-back';

/** A raw request, so the Host header and the cookie are ours to set. */
function request(
  method: string,
  pathname: string,
  opts: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const data = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    const req = http.request(
      { host: '127.0.0.1', port: server.port, method, path: pathname, headers: { 'content-type': 'application/json', ...opts.headers } },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}
const bearer = () => ({ authorization: `Bearer ${server.token}` });

beforeAll(async () => {
  const t = tempDir();
  cleanup = t.cleanup;
  const staticDir = path.join(t.dir, 'static');
  fs.mkdirSync(staticDir);
  fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>PUMA test</title>');
  fs.writeFileSync(path.join(t.dir, 'secret.txt'), 'do not serve');
  allowed = path.join(t.dir, 'allowed');
  outside = path.join(t.dir, 'outside');
  fs.mkdirSync(allowed);
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'shadow'), SECRET);
  app = new PumaApp({ dbPath: path.join(t.dir, 'log.db'), launcher: forkJobLauncher(), mode: 'browser', allowedRoots: [allowed] });
  server = await startHttpServer({ app, staticDir });
});
afterAll(async () => {
  await server.close();
  app.close();
  cleanup();
});

describe('browser-mode server', () => {
  it('listens on 127.0.0.1 only', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{48}$/);
  });

  it('refuses requests without the token, or with a wrong one', async () => {
    expect((await request('GET', '/')).status).toBe(401);
    expect((await request('POST', '/api/runs.list', { body: {} })).status).toBe(401);
    expect((await request('POST', '/api/runs.list', { body: {}, headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    expect((await request('GET', '/api/events')).status).toBe(401);
  });

  it('refuses a foreign Host header (DNS rebinding)', async () => {
    const r = await request('POST', '/api/runs.list', { body: {}, headers: { ...bearer(), host: `evil.example:${server.port}` } });
    expect(r.status).toBe(421);
  });

  it('exchanges the token URL for an HttpOnly cookie and a redirect that drops the token', async () => {
    const r = await request('GET', `/?token=${server.token}`);
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe('/');
    expect(String(r.headers['set-cookie'])).toMatch(/puma_token=.*HttpOnly; SameSite=Strict/);
    // other query parameters stay; the token never does
    const deep = await request('GET', `/index.html?view=2&token=${server.token}`);
    expect(deep.status).toBe(303);
    expect(deep.headers.location).toBe('/index.html?view=2');
    expect(deep.headers.location).not.toContain(server.token);
    const cookie = String(r.headers['set-cookie']).split(';')[0]!;
    const page = await request('GET', '/', { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(page.body).toContain('PUMA test');
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self'/);
    const api = await request('POST', '/api/app.info', { body: {}, headers: { cookie, origin: `http://127.0.0.1:${server.port}` } });
    expect(api.status).toBe(200);
    expect(JSON.parse(api.body).result.mode).toBe('browser');
  });

  it('does not serve files outside the UI folder', async () => {
    // Escaped separators survive URL parsing and decode to a path out of the UI folder: refused.
    for (const p of ['/..%2fsecret.txt', '/..%2F..%2Fstatic%2F..%2Fsecret.txt', '/assets%2f..%2f..%2fsecret.txt']) {
      const r = await request('GET', p, { headers: bearer() });
      expect(r.status, p).toBe(403);
      expect(r.body, p).toBe('Forbidden');
    }
    // Plain dot segments are resolved by URL parsing before the file is looked up (to /secret.txt,
    // which the UI folder does not hold): the answer is the UI's page, not the file.
    const plain = await request('GET', '/../secret.txt', { headers: bearer() });
    expect(plain.status).toBe(200);
    expect(plain.body).toContain('<title>PUMA test</title>');
    expect(plain.body).not.toContain('do not serve');
  });

  it('validates payloads against the contract', async () => {
    const bad = await request('POST', '/api/perceptron.start', { body: { config: { k: -3 } }, headers: bearer() });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error).toMatch(/Invalid request for perceptron.start/);
    const extra = await request('POST', '/api/runs.get', { body: { id: 1, sneaky: true }, headers: bearer() });
    expect(extra.status).toBe(400);
    const unknown = await request('POST', '/api/fs.readFile', { body: {}, headers: bearer() });
    expect(unknown.status).toBe(400);
    const notJson = await request('POST', '/api/runs.list', { body: '{oops', headers: bearer() });
    expect(notJson.status).toBe(400);
  });

  it('answers a valid operation', async () => {
    const r = await request('POST', '/api/runs.list', { body: {}, headers: bearer() });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ result: [] });
  });
});

/** The session cookie, as the browser gets it from the token URL. */
async function sessionCookie(): Promise<string> {
  const r = await request('GET', `/?token=${server.token}`);
  return String(r.headers['set-cookie']).split(';')[0]!;
}
const ourOrigin = () => `http://127.0.0.1:${server.port}`;
const concurrency = async (): Promise<number> => JSON.parse((await request('POST', '/api/queue.get', { body: {}, headers: bearer() })).body).result.concurrency;

describe('requests that change state', () => {
  it('refuses a POST from a page on another port of 127.0.0.1 carrying the cookie, and changes nothing', async () => {
    const cookie = await sessionCookie();
    const before = await concurrency();
    for (const origin of [`http://127.0.0.1:${server.port + 1}`, `http://localhost:${server.port + 1}`, 'https://evil.example', 'null']) {
      const r = await request('POST', '/api/queue.settings', { body: { concurrency: before + 3 }, headers: { cookie, origin } });
      expect(r.status, origin).toBe(403);
      expect(JSON.parse(r.body).error).toMatch(/Refused/);
    }
    expect(await concurrency()).toBe(before);
    // our own page may (both spellings of the host)
    const ok = await request('POST', '/api/queue.settings', {
      body: { concurrency: before + 1 },
      headers: { cookie, origin: ourOrigin(), 'sec-fetch-site': 'same-origin' },
    });
    expect(ok.status).toBe(200);
    expect(await concurrency()).toBe(before + 1);
    await request('POST', '/api/queue.settings', { body: { concurrency: before }, headers: bearer() });
  });

  it('refuses Sec-Fetch-Site cross-site and same-site, with or without an Origin', async () => {
    const cookie = await sessionCookie();
    const before = await concurrency();
    for (const site of ['cross-site', 'same-site']) {
      const r = await request('POST', '/api/queue.settings', { body: { concurrency: before + 2 }, headers: { cookie, 'sec-fetch-site': site } });
      expect(r.status, site).toBe(403);
      expect(
        (await request('POST', '/api/queue.settings', { body: { concurrency: before + 2 }, headers: { ...bearer(), 'sec-fetch-site': site } })).status,
      ).toBe(403);
    }
    // the event stream too: a foreign page cannot subscribe
    expect((await request('GET', '/api/events', { headers: { cookie, 'sec-fetch-site': 'cross-site' } })).status).toBe(403);
    expect(await concurrency()).toBe(before);
  });

  it('refuses a cookie-borne POST without any Origin (browsers always send one)', async () => {
    const cookie = await sessionCookie();
    const r = await request('POST', '/api/queue.settings', { body: { concurrency: 7 }, headers: { cookie } });
    expect(r.status).toBe(403);
    expect(await concurrency()).not.toBe(7);
  });

  it('takes JSON bodies only: text/plain and form bodies get 415', async () => {
    const cookie = await sessionCookie();
    const before = await concurrency();
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '']) {
      const r = await request('POST', '/api/queue.settings', {
        body: JSON.stringify({ concurrency: before + 4 }),
        headers: { ...bearer(), 'content-type': type },
      });
      expect(r.status, type).toBe(415);
      expect(JSON.parse(r.body).error).toMatch(/Content-Type: application\/json/);
    }
    const withCharset = await request('POST', '/api/queue.get', {
      body: {},
      headers: { cookie, origin: ourOrigin(), 'content-type': 'application/json; charset=utf-8' },
    });
    expect(withCharset.status).toBe(200);
    expect(await concurrency()).toBe(before);
  });

  it('answers a 2 MiB body with 413 (not a reset) and keeps serving', async () => {
    const big = JSON.stringify({ notes: 'x'.repeat(2 << 20) });
    const r = await request('POST', '/api/runs.list', { body: big, headers: bearer() });
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body).error).toMatch(/larger than 1 MiB/);
    // chunked (no Content-Length): counted while it arrives
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: server.port,
          method: 'POST',
          path: '/api/runs.list',
          headers: { ...bearer(), 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        },
        (res) => (res.resume(), res.on('end', () => resolve(res.statusCode ?? 0))),
      );
      req.on('error', reject);
      for (let i = 0; i < 40; i++) req.write('x'.repeat(64 << 10));
      req.end();
    });
    expect(chunked).toBe(413);
    expect((await request('POST', '/api/runs.list', { body: {}, headers: bearer() })).status).toBe(200);
  });

  it('answers a body nested 400000 deep with 400 (not a stack overflow) and keeps serving', async () => {
    const deep = `{"base": ${'['.repeat(400_000)}${']'.repeat(400_000)}}`;
    const r = await request('POST', '/api/experiments.plan', { body: deep, headers: bearer() });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error).toBe('The request body is nested deeper than 100 levels.');
    expect((await request('POST', '/api/runs.list', { body: {}, headers: bearer() })).status).toBe(200);
  });

  it('answers a malformed %-escape with 400', async () => {
    const api = await request('POST', '/api/%E0%A4%A', { body: {}, headers: bearer() });
    expect(api.status).toBe(400);
    expect(JSON.parse(api.body).error).toMatch(/Malformed address/);
    expect((await request('GET', '/%E0%A4%A', { headers: bearer() })).status).toBe(400);
  });

  it('still streams events to our page', async () => {
    const cookie = await sessionCookie();
    const got = await new Promise<string>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: server.port, method: 'GET', path: '/api/events', headers: { cookie, 'sec-fetch-site': 'same-origin' } },
        (res) => {
          expect(res.statusCode).toBe(200);
          expect(res.headers['content-type']).toBe('text/event-stream');
          let text = '';
          res.on('data', (c) => {
            text += c;
            if (text.includes('data: ')) (resolve(text), req.destroy());
          });
          // an event once the stream is open
          setTimeout(() => app.emit('run.status', { runId: 9, status: 'failed', error: 'Error: boom\n    at run (/usr/lib/puma/x.js:1:2)' }), 50);
        },
      );
      req.on('error', reject);
      req.end();
    });
    const event = JSON.parse(got.slice(got.indexOf('data: ') + 6).split('\n')[0]!);
    expect(event).toEqual({ name: 'run.status', payload: { runId: 9, status: 'failed', error: 'Error: boom' } });
  });
});

describe('error answers', () => {
  it("answers an unknown id with 404, a clash with 409, each with the service's message", async () => {
    const missing = await request('POST', '/api/runs.get', { body: { id: 99999 }, headers: bearer() });
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body).error).toBe('Run 99999 does not exist in the experiment log.');
    expect((await request('POST', '/api/runs.metrics', { body: { id: 99999 }, headers: bearer() })).status).toBe(404);
    expect((await request('POST', '/api/datasets.get', { body: { id: 99999 }, headers: bearer() })).status).toBe(404);
    const resume = await request('POST', '/api/training.resume', { body: { id: 99999 }, headers: bearer() });
    expect(resume.status).toBe(404);
    expect(JSON.parse(resume.body).error).toMatch(/^Run 99999 does not exist in the experiment log/);
    // a run that is not queued cannot be moved in the queue: the request is fine, the log's state is not
    const id = app.runs.create({ kind: 'perceptron', name: 'stopped', config: {}, appVersion: 'test' });
    app.runs.finish(id, 'failed', 'stopped');
    const move = await request('POST', '/api/queue.move', { body: { id, delta: 1 }, headers: bearer() });
    expect(move.status).toBe(409);
    expect(JSON.parse(move.body).error).toBe(`Run ${id} is not queued, so it cannot be moved.`);
  });

  it('carry no stack trace and no path outside the user folders', async () => {
    const id = app.runs.create({ kind: 'perceptron', name: 'failing', config: {}, appVersion: 'test' });
    app.runs.finish(
      id,
      'failed',
      `Error: could not read /opt/secret/place/weights.bin and ${allowed}/mine.npy\n    at readIt (/usr/lib/node_modules/x/index.js:10:5)`,
    );
    const r = await request('POST', '/api/runs.get', { body: { id }, headers: bearer() });
    expect(r.status).toBe(200);
    const error = JSON.parse(r.body).result.error as string;
    expect(error).toBe(`Error: could not read …/weights.bin and ${allowed}/mine.npy`);

    const dispatch = app.dispatch.bind(app);
    try {
      app.dispatch = async () => {
        throw new TypeError("Cannot read properties of undefined (reading 'x') at /usr/lib/node_modules/puma/a.js");
      };
      const internal = await request('POST', '/api/runs.list', { body: {}, headers: bearer() });
      expect(internal.status).toBe(500);
      expect(internal.body).not.toMatch(/\/usr\/lib|Cannot read|\bat /);
      expect(JSON.parse(internal.body).error).toMatch(/internal error.*Try again/);
      app.dispatch = async () => {
        throw new Error('The store at /var/lib/puma/cache/x.db is busy');
      };
      const domain = JSON.parse((await request('POST', '/api/runs.list', { body: {}, headers: bearer() })).body).error as string;
      expect(domain).toMatch(/^The store at …\/x\.db is busy/);
      expect(domain).not.toContain('/var/lib');
    } finally {
      app.dispatch = dispatch;
    }
  });
});

describe('the path policy over HTTP', () => {
  const post = async (op: string, body: unknown) => {
    const r = await request('POST', `/api/${op}`, { body, headers: bearer() });
    return { status: r.status, body: r.body, error: (JSON.parse(r.body) as { error?: string }).error ?? '' };
  };

  it('refuses models.import of a file outside the allowed folders without its content, size or existence', async () => {
    const secret = path.join(outside, 'shadow');
    const existing = await post('models.import', { path: secret, name: 'stolen' });
    const missing = await post('models.import', { path: path.join(outside, 'no-such-file'), name: 'stolen' });
    for (const r of [existing, missing]) {
      expect(r.status).toBe(400);
      expect(r.error).toMatch(/refused: the path is outside the folders you chose/);
      expect(r.body).not.toContain('root:');
      expect(r.body).not.toContain('secret-line');
      expect(r.body).not.toContain(String(SECRET.length));
      expect(r.body).not.toMatch(/no such file/);
    }
    // the two answers differ only by the name asked for: nothing tells whether the file is there
    expect(existing.error.replace(secret, 'P')).toBe(missing.error.replace(path.join(outside, 'no-such-file'), 'P'));
    const shadow = await post('models.import', { path: '/etc/shadow', name: 'stolen' });
    expect(shadow.status).toBe(400);
    expect(shadow.error).toMatch(/\/etc\/shadow: refused/);
    // a link inside the allowed folder that points at it is refused too
    fs.symlinkSync(secret, path.join(allowed, 'innocent.json'));
    const linked = await post('models.import', { path: path.join(allowed, 'innocent.json'), name: 'stolen' });
    expect(linked.status).toBe(400);
    expect(linked.error).toMatch(/refused/);
    expect(linked.body).not.toContain('secret-line');
    // and a symlinked folder does not reveal what exists behind it
    fs.symlinkSync(outside, path.join(allowed, 'door'));
    const behind = await post('models.import', { path: path.join(allowed, 'door', 'no-such-file'), name: 'stolen' });
    expect(behind.error).toMatch(/refused/);
    expect(JSON.parse((await request('POST', '/api/models.list', { body: {}, headers: bearer() })).body).result).toEqual([]);
  });

  it('refuses a chosen folder whose model.json links out of it', async () => {
    const linked = path.join(allowed, 'linked-model');
    fs.mkdirSync(linked);
    fs.symlinkSync(path.join(outside, 'shadow'), path.join(linked, 'model.json'));
    const r = await post('models.import', { path: linked, name: 'linked' });
    expect(r.status).toBe(400);
    expect(r.error).toMatch(/refused 'model\.json': it links outside the chosen folder/);
    expect(r.body).not.toContain('secret-line');
  });

  it('does not echo the contents of a chosen file that is not JSON', async () => {
    fs.copyFileSync(path.join(outside, 'shadow'), path.join(allowed, 'model.json'));
    const r = await post('models.import', { path: path.join(allowed, 'model.json'), name: 'not-json' });
    expect(r.status).toBe(400);
    expect(r.error).toMatch(/model\.json: not valid JSON/);
    expect(r.body).not.toContain('root:');
    fs.rmSync(path.join(allowed, 'model.json'));
  });

  it('refuses weight paths in model.json that leave its folder (../../x, absolute)', async () => {
    // an outside file of exactly the size the manifest describes (4 float32)
    fs.writeFileSync(path.join(outside, 'x.bin'), Buffer.alloc(16, 7));
    const modelDir = path.join(allowed, 'models', 'evil');
    fs.mkdirSync(modelDir, { recursive: true });
    const weights = [{ name: 'dense/kernel', shape: [2, 2], dtype: 'float32' }];
    const cases: Array<[string, RegExp]> = [
      ['../../../outside/x.bin', /leads outside the folder of model\.json/],
      [path.join(outside, 'x.bin'), /an absolute path/],
    ];
    fs.symlinkSync(path.join(outside, 'x.bin'), path.join(modelDir, 'linked.bin'));
    cases.push(['linked.bin', /links outside the folder of model\.json/]);
    for (const [p, why] of cases) {
      fs.writeFileSync(
        path.join(modelDir, 'model.json'),
        JSON.stringify({
          format: 'layers-model',
          modelTopology: { class_name: 'Sequential', config: { layers: [] } },
          weightsManifest: [{ paths: [p], weights }],
        }),
      );
      const r = await post('models.import', { path: modelDir, name: `evil ${p}` });
      expect(r.status, p).toBe(400);
      expect(r.error, p).toMatch(why);
      expect(r.error).toMatch(/model\.json/);
    }
    expect(JSON.parse((await request('POST', '/api/models.list', { body: {}, headers: bearer() })).body).result).toEqual([]);
    expect(fs.existsSync(path.join(app.dataDir, 'models')) ? fs.readdirSync(path.join(app.dataDir, 'models')) : []).toEqual([]);
  });

  it('refuses a margin_set path outside the allowed folders at training.start, before any run', async () => {
    const runsBefore = JSON.parse((await request('POST', '/api/runs.list', { body: {}, headers: bearer() })).body).result.length;
    const npy = path.join(outside, 'm.npy');
    fs.writeFileSync(npy, Buffer.alloc(128));
    for (const margin_set of [npy, '/etc/shadow', `${allowed}/../outside/m.npy`]) {
      const r = await post('training.start', { config: { strategy: 'puma', prune_ratio: 0.3, margin_set } });
      expect(r.status, margin_set).toBe(400);
      expect(r.error).toMatch(/config\.margin_set: .*refused: the path is outside/);
    }
    const sweep = await post('experiments.create', { kind: 'train', name: 'x', base: { strategy: 'puma' }, grid: { margin_set: [npy] } });
    expect(sweep.status).toBe(400);
    expect(sweep.error).toMatch(/grid\.margin_set\[0\]: .*refused/);
    const helper = await post('models.train', { name: 'mm', extra: { margin_set: npy } });
    expect(helper.status).toBe(400);
    // an id names a margin set of the log: an unknown one is refused by name
    const unknown = await post('training.start', { config: { strategy: 'puma', margin_set: 999 } });
    expect(unknown.status).toBe(400);
    expect(unknown.error).toMatch(/config\.margin_set: margin set 999 does not exist/);
    expect(JSON.parse((await request('POST', '/api/runs.list', { body: {}, headers: bearer() })).body).result.length).toBe(runsBefore);
    // a file inside the allowed folders passes, as its real path
    const mine = path.join(allowed, 'mine.npy');
    fs.writeFileSync(mine, Buffer.alloc(128));
    const plan = await post('experiments.plan', { kind: 'train', base: { strategy: 'puma', margin_set: path.join(allowed, '.', 'mine.npy') }, grid: {} });
    expect(plan.status).toBe(200);
    expect(JSON.parse(plan.body).result.configs[0].margin_set).toBe(fs.realpathSync(mine));
  });

  it('refuses datasets.import outside the allowed folders before touching the path', async () => {
    const r = await post('datasets.import', { path: path.join(outside, 'no-such-folder'), name: 'x' });
    expect(r.status).toBe(400);
    expect(r.error).toMatch(/^path: .*no-such-folder: refused/);
  });
});
