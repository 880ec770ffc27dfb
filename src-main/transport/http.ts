import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { PumaApp } from '../services/app';
import { jsonDepth, LIMITS } from '../services/limits';
import { scrubMessage } from '../services/path-policy';
import { APP_ROOT } from '../services/system';
import { answerFor, INTERNAL_MESSAGE } from '../../src-shared/api/errors';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
};

/** The same CSP as the Electron window: only our own scripts, no inline script, no remote hosts. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

const MAX_BODY = 1 << 20;
/** A body past MAX_BODY is read and dropped up to here (so the client gets its 413), then cut. */
const MAX_DRAIN = 32 << 20;
const COOKIE = 'puma_token';

/** An answer with a status other than 500 (bad URI, wrong origin, wrong type, too large). */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface HttpServerOptions {
  app: PumaApp;
  staticDir: string;
  port?: number;
  token?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

function sameToken(a: string | undefined, b: string): boolean {
  if (!a) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieToken(req: http.IncomingMessage): string | undefined {
  const raw = req.headers.cookie ?? '';
  for (const part of raw.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return v.join('=');
  }
  return undefined;
}

/**
 * Browser mode: serves the renderer and the contract over HTTP (POST /api/<operation>) with
 * server-sent events (GET /api/events). Listens on 127.0.0.1 only; every request must carry the
 * session token (query string once, answered by a redirect that sets an HttpOnly SameSite=Strict
 * cookie and drops the token from the address bar; or a Bearer header), and the Host header must
 * be ours (no DNS rebinding). API requests from another origin are refused (403: a page on another
 * port of 127.0.0.1 is same-site, so the cookie alone is no proof), operations take JSON bodies
 * only (415: no form or text bodies a page could send without asking), and error answers carry no
 * stack traces or paths outside the user's folders (the details go to stderr).
 */
export async function startHttpServer(opts: HttpServerOptions): Promise<RunningServer> {
  const token = opts.token ?? randomBytes(24).toString('hex');
  const staticRoot = path.resolve(opts.staticDir);
  let port = 0;

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((err) => {
      if (err instanceof HttpError) return fail(res, err.status, err.message);
      console.error(`puma serve: ${req.method} ${req.url?.replace(/token=[^&]*/, 'token=…')}: ${(err as Error).stack ?? String(err)}`);
      if (!res.headersSent) json(res, 500, { error: INTERNAL_MESSAGE });
      else res.end();
    });
  });

  const json = (res: http.ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(text);
  };
  const fail = (res: http.ServerResponse, status: number, error: string): void => {
    if (res.headersSent) return void res.end();
    json(res, status, { error });
  };
  /** Messages as answered: no stack frames, no paths outside the user's folders. */
  const scrub = (text: string): string => scrubMessage(text, opts.app.paths.roots(), APP_ROOT);
  /** Run records and events carry `error` texts written by jobs (a trace, possibly): scrubbed too. */
  const scrubErrors = (value: unknown, depth = 0): unknown => {
    // errors sit near the top (a run, a list of runs, an event): metric series below are not walked
    if (depth > 3 || typeof value !== 'object' || value === null) return value;
    if (Array.isArray(value)) return value.some((v) => typeof v === 'object' && v !== null) ? value.map((v) => scrubErrors(v, depth + 1)) : value;
    let out: Record<string, unknown> | null = null;
    for (const [k, v] of Object.entries(value)) {
      const next = k === 'error' && typeof v === 'string' ? scrub(v) : typeof v === 'object' && v !== null ? scrubErrors(v, depth + 1) : v;
      if (next !== v) (out ??= { ...(value as Record<string, unknown>) })[k] = next;
    }
    return out ?? value;
  };

  /** Only our own page may call the API: Origin and Sec-Fetch-Site, when sent, must say so. */
  function checkOrigin(req: http.IncomingMessage, byCookie: boolean): void {
    const origin = req.headers.origin;
    const ours = [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
    if (origin !== undefined && !ours.includes(origin)) {
      throw new HttpError(403, `Refused: this request comes from ${origin.slice(0, 100)}, not from the PUMA Lab page (${ours[0]}).`);
    }
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') {
      throw new HttpError(403, `Refused: a ${site.slice(0, 20)} request (Sec-Fetch-Site); only the PUMA Lab page may call its API.`);
    }
    // Browsers send Origin on every POST; a cookie-borne change without one is not our page's.
    if (req.method === 'POST' && byCookie && origin === undefined && site === undefined) {
      throw new HttpError(403, 'Refused: a request with the session cookie but no Origin header; only the PUMA Lab page may call its API.');
    }
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const host = req.headers.host ?? '';
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
      res.writeHead(421).end('Wrong host');
      return;
    }
    const auth = req.headers.authorization?.startsWith('Bearer ') ? req.headers.authorization.slice(7) : undefined;
    const queryToken = url.searchParams.get('token') ?? undefined;
    const byBearer = sameToken(auth, token);
    const byCookie = sameToken(cookieToken(req), token);
    const byQuery = sameToken(queryToken, token);
    if (!byBearer && !byCookie && !byQuery) {
      res.writeHead(401, { 'content-type': 'text/plain' }).end('PUMA Lab: this address needs the session token printed at start-up.');
      return;
    }
    const headers: Record<string, string> = {
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    };
    const cookie = `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`;
    const isApi = url.pathname.startsWith('/api/');
    if (queryToken !== undefined && !isApi && (req.method === 'GET' || req.method === 'HEAD')) {
      // The token is exchanged for the cookie and leaves the address bar (and the history):
      // the same address without it (the browser keeps the #fragment across the redirect).
      url.searchParams.delete('token');
      const location = url.pathname + (url.search === '?' ? '' : url.search);
      res.writeHead(303, { ...headers, ...(byQuery ? { 'set-cookie': cookie } : {}), location, 'cache-control': 'no-store' }).end();
      return;
    }
    if (byQuery) headers['set-cookie'] = cookie;

    if (isApi) checkOrigin(req, byCookie && !byBearer);

    if (url.pathname === '/api/events' && req.method === 'GET') {
      res.writeHead(200, { ...headers, 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write(': connected\n\n');
      const off = opts.app.onEvent((m) => res.write(`data: ${JSON.stringify(scrubErrors(m))}\n\n`));
      const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
      req.on('close', () => {
        off();
        clearInterval(ping);
      });
      return;
    }
    if (isApi) {
      if (req.method !== 'POST') return json(res, 405, { error: 'Use POST for API operations.' });
      const op = decodePath(url.pathname.slice(5));
      // JSON only: a form or text/plain body is what a foreign page can send without a preflight
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/json') {
        await drain(req);
        return json(res, 415, { error: 'API operations take a JSON body: send Content-Type: application/json.' });
      }
      const body = await readBody(req);
      let payload: unknown;
      try {
        // JSON.parse takes any depth, but what walks the value later (zod, JSON.stringify) recurses
        if (jsonDepth(body, LIMITS.maxJsonDepth) > LIMITS.maxJsonDepth) {
          return json(res, 400, { error: `The request body is nested deeper than ${LIMITS.maxJsonDepth} levels.` });
        }
        payload = body.length ? JSON.parse(body) : {};
      } catch (e) {
        return json(res, 400, { error: `The request body is not valid JSON${e instanceof RangeError ? ' (nested too deeply)' : ''}.` });
      }
      try {
        const result = await opts.app.dispatch(op, payload);
        return json(res, 200, { result: scrubErrors(result) });
      } catch (err) {
        const answer = answerFor(err);
        // the caller's to fix: the message names what the caller sent (its own paths included), only stack frames go
        if (answer.status < 500) return json(res, answer.status, { error: withoutStack(answer.message) });
        console.error(`puma serve: ${op}: ${(err as Error).stack ?? String(err)}`);
        // a fault of the log names the log and what to do; other messages point to the terminal
        const error =
          !answer.internal || answer.message === INTERNAL_MESSAGE
            ? scrub(answer.message)
            : `${scrub(answer.message)} (the details are in the terminal running puma serve)`;
        return json(res, answer.status, { error });
      }
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'Method not allowed.' });
    serveStatic(url.pathname, res, headers);
  }

  function serveStatic(pathname: string, res: http.ServerResponse, headers: Record<string, string>): void {
    const rel = decodePath(pathname === '/' ? '/index.html' : pathname);
    const file = path.resolve(staticRoot, '.' + rel);
    if (!file.startsWith(staticRoot + path.sep)) {
      res.writeHead(403).end('Forbidden');
      return;
    }
    const target = existsSync(file) && statSync(file).isFile() ? file : path.join(staticRoot, 'index.html');
    if (!existsSync(target)) {
      console.error(`puma serve: the UI is not built: ${target} is missing`);
      res.writeHead(500, { 'content-type': 'text/plain' }).end('The UI is not built: run npm run build:renderer, then reload.');
      return;
    }
    res.writeHead(200, { ...headers, 'content-type': MIME[path.extname(target)] ?? 'application/octet-stream' });
    createReadStream(target).pipe(res);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}/?token=${token}`;
  return {
    url,
    port,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const withoutStack = (text: string): string =>
  text
    .split('\n')
    .filter((l) => !/^\s*at\s/.test(l))
    .join('\n');

/** decodeURIComponent, with a malformed escape answered as 400 instead of a thrown URIError. */
function decodePath(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    throw new HttpError(400, 'Malformed address: it has an invalid %-escape.');
  }
}

/** Reads and drops a body we will not use, so the client gets our answer rather than a reset. */
function drain(req: http.IncomingMessage, limit = MAX_DRAIN): Promise<void> {
  return new Promise((resolve) => {
    let size = 0;
    if (req.readableEnded) return resolve();
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.destroy();
        resolve();
      }
    });
    req.on('end', resolve);
    req.on('error', () => resolve());
    req.on('close', resolve);
  });
}

/** The body as text; 413 past MAX_BODY (read to its end first, so the answer arrives intact). */
async function readBody(req: http.IncomingMessage): Promise<string> {
  const tooLarge = () => new HttpError(413, `The request body is larger than ${MAX_BODY >> 20} MiB.`);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_BODY) {
    await drain(req);
    throw tooLarge();
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (over || size > MAX_BODY) {
        // keep reading (and dropping) so the 413 reaches the client; cut a flood
        over = true;
        chunks.length = 0;
        if (size > MAX_DRAIN) {
          req.destroy();
          reject(tooLarge());
        }
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => (over ? reject(tooLarge()) : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}
