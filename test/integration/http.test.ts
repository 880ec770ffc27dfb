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
  app = new PumaApp({ dbPath: path.join(t.dir, 'log.db'), launcher: forkJobLauncher(), mode: 'browser' });
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

  it('serves the UI with a CSP and sets an HttpOnly session cookie from the token URL', async () => {
    const r = await request('GET', `/?token=${server.token}`);
    expect(r.status).toBe(200);
    expect(r.body).toContain('PUMA test');
    expect(r.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(String(r.headers['set-cookie'])).toMatch(/puma_token=.*HttpOnly; SameSite=Strict/);
    const cookie = String(r.headers['set-cookie']).split(';')[0];
    const api = await request('POST', '/api/app.info', { body: {}, headers: { cookie } });
    expect(api.status).toBe(200);
    expect(JSON.parse(api.body).result.mode).toBe('browser');
  });

  it('does not serve files outside the UI folder', async () => {
    const r = await request('GET', `/..%2fsecret.txt`, { headers: bearer() });
    expect(r.body).not.toContain('do not serve');
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
