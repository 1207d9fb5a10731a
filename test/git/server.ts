/**
 * A real Git server for tests: Debian's `git http-backend` (CGI) behind a small node:http server on
 * loopback, serving the bare repositories under `root` over smart HTTP, with optional bearer or
 * basic auth. `stop()` and `start()` take the listener down and up on the same port to simulate an
 * outage.
 */
import { spawn } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type GitServerAuth =
  | { type: 'bearer'; token: string }
  | { type: 'basic'; username: string; password: string };

export interface GitServerOptions {
  /** Folder holding bare repositories (`<root>/<name>.git`). */
  root: string;
  auth?: GitServerAuth;
  /** Fixed port; default an ephemeral one chosen at the first start. */
  port?: number;
  /** Address to listen on; default 127.0.0.1. */
  host?: string;
  /** Called as each request arrives, before it is served (fault tests kill the server mid-fetch). */
  onRequest?: (method: string, url: string) => void;
}

export interface GitServer {
  readonly root: string;
  readonly port: number;
  readonly host: string;
  /** Clone URL of `<root>/<repo>.git`. */
  url(repo: string): string;
  /** Number of requests served since start, for tests that need to see traffic. */
  readonly requests: number;
  /** Close the listener and drop open connections; the port stays reserved for `start()`. */
  stop(): Promise<void>;
  /** Listen again on the same port. */
  start(): Promise<void>;
  /** Stop for good. */
  close(): Promise<void>;
}

const HTTP_BACKEND = '/usr/lib/git-core/git-http-backend';

export async function startGitServer(options: GitServerOptions): Promise<GitServer> {
  const host = options.host ?? '127.0.0.1';
  let port = options.port ?? 0;
  let requests = 0;
  let server: http.Server | undefined;

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    requests++;
    options.onRequest?.(req.method ?? 'GET', req.url ?? '/');
    const user = authorize(req, options.auth);
    if (user === undefined) {
      res.writeHead(401, {
        'WWW-Authenticate': 'Basic realm="strata-test-git"',
        'Content-Type': 'text/plain',
      });
      res.end('authentication required\n');
      return;
    }
    runBackend(req, res, options.root, user);
  };

  const listen = async (): Promise<void> => {
    const s = http.createServer(handler);
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, host, () => {
        s.off('error', reject);
        resolve();
      });
    });
    port = (s.address() as AddressInfo).port;
    server = s;
  };

  const stop = async (): Promise<void> => {
    const s = server;
    if (!s) return;
    server = undefined;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  };

  await listen();
  return {
    root: options.root,
    host,
    get port() {
      return port;
    },
    get requests() {
      return requests;
    },
    url: (repo) => `http://${host}:${port}/${repo}.git`,
    stop,
    start: async () => {
      if (!server) await listen();
    },
    close: stop,
  };
}

/** The authenticated user name ('' when no auth is configured), or undefined when refused. */
function authorize(req: http.IncomingMessage, auth: GitServerAuth | undefined): string | undefined {
  if (!auth) return '';
  const header = req.headers.authorization ?? '';
  if (auth.type === 'bearer') {
    return sameSecret(header, `Bearer ${auth.token}`) ? 'bearer' : undefined;
  }
  const expected = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  return sameSecret(header, expected) ? auth.username : undefined;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Run one CGI request through git http-backend and stream its answer back. */
function runBackend(req: http.IncomingMessage, res: http.ServerResponse, root: string, user: string): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    GATEWAY_INTERFACE: 'CGI/1.1',
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.replace(/^\?/, ''),
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    // A REMOTE_USER lets http-backend accept pushes (receive-pack) from authenticated clients.
    ...(user ? { REMOTE_USER: user } : {}),
    ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
    ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] } : {}),
    ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
  };
  const child = spawn(HTTP_BACKEND, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  req.pipe(child.stdin);
  child.stdin.on('error', () => {});
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  let head = Buffer.alloc(0);
  let headersSent = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (headersSent) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const split = findHeaderEnd(head);
    if (!split) return;
    writeCgiHeaders(res, head.subarray(0, split.start).toString('latin1'));
    headersSent = true;
    const body = head.subarray(split.end);
    if (body.length) res.write(body);
  });
  child.on('close', (code) => {
    if (!headersSent) {
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(`git http-backend exited ${code}: ${stderr}\n`);
      return;
    }
    res.end();
  });
  res.on('close', () => {
    if (child.exitCode === null) child.kill();
  });
}

function findHeaderEnd(buf: Buffer): { start: number; end: number } | undefined {
  const crlf = buf.indexOf('\r\n\r\n');
  if (crlf >= 0) return { start: crlf, end: crlf + 4 };
  const lf = buf.indexOf('\n\n');
  if (lf >= 0) return { start: lf, end: lf + 2 };
  return undefined;
}

function writeCgiHeaders(res: http.ServerResponse, block: string): void {
  let status = 200;
  const headers: Record<string, string> = {};
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 200;
    else headers[name] = value;
  }
  res.writeHead(status, headers);
}
