/**
 * The hub's HTTP server (node:http): matches the route table, applies the read-token guard,
 * turns `HttpError`s into JSON answers and logs every other failure once.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { REPORT_BODY } from '../../contract/limits.js';
import { credentialOf, readAllowed, TokenCache } from './api/auth.js';
import { clusterRoutes } from './api/clusters.js';
import { heartbeatRoutes } from './api/heartbeats.js';
import { errorReply, HttpError, JSON_HEADERS, json, type Reply } from './api/http.js';
import { ReportWriter } from './api/ingest.js';
import { createMetrics } from './api/metrics.js';
import { previewRoutes } from './api/previews.js';
import { REPORTS_PATH, receiveReport, reportRoutes } from './api/reports.js';
import { rolloutRoutes } from './api/rollouts.js';
import { type Hub, type HubSettings, matchRoute, type RequestContext, type Route } from './api/router.js';
import type { Store } from './store/store.js';
import { previewPageRoutes } from './ui/preview.js';
import { uiRoutes } from './ui/routes.js';

const opsRoutes: Route[] = [
  { method: 'GET', path: '/healthz', access: 'public', handle: async () => json(200, { status: 'ok' }) },
  {
    method: 'GET',
    path: '/metrics',
    access: 'metrics',
    handle: async ({ hub }) => ({
      status: 200,
      headers: { 'content-type': hub.metrics.registry.contentType },
      body: await hub.metrics.registry.metrics(),
    }),
  },
];

/** Every route of the hub, in match order. New features add their table here. */
export const routes: readonly Route[] = [
  ...opsRoutes,
  ...reportRoutes,
  ...heartbeatRoutes,
  ...clusterRoutes,
  ...rolloutRoutes,
  ...previewRoutes,
  ...previewPageRoutes,
  ...uiRoutes,
];

/** The hub's HTTP settings unless configured. */
export const DEFAULT_SETTINGS: HubSettings = {
  bodyLimit: REPORT_BODY.defaultBytes,
  staleAfterMs: 10 * 60_000,
  refreshSeconds: 5,
};

/** The hub's HTTP server, listening; close it to stop. */
export interface HubServer {
  hub: Hub;
  server: Server;
  /** `http://host:port` once listening. */
  url: string;
  close(): Promise<void>;
}

/** Reads need a token unless the caller says they are public: a forgotten token never opens them. */
export class ReadAccessError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReadAccessError';
  }
}

/** The HTTP server of a hub over a store: every route, auth and errors. */
export function createHub(
  store: Store,
  logger: Logger,
  settings: Partial<HubSettings> = {},
  now = Date.now,
): Hub {
  if (settings.readToken === undefined && settings.publicRead !== true)
    throw new ReadAccessError('the hub needs a read token, or reads declared public (publicRead)');
  if (settings.readToken !== undefined && settings.publicRead === true)
    throw new ReadAccessError('a read token and public reads exclude each other');
  if (settings.privateMetrics === true && settings.readToken === undefined)
    throw new ReadAccessError('private metrics need a read token');
  return {
    store,
    logger,
    metrics: createMetrics(store, now),
    writer: new ReportWriter(store),
    tokens: new TokenCache(store),
    settings: { ...DEFAULT_SETTINGS, ...settings },
    now,
  };
}

/** A PEM certificate chain and its private key: the hub then speaks only HTTPS. */
export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

/** Starts serving `hub` on host:port (port 0 picks a free one), over TLS when given a certificate. */
export async function serveHub(hub: Hub, host: string, port: number, tls?: TlsFiles): Promise<HubServer> {
  const listener = (req: IncomingMessage, res: ServerResponse) => void handle(hub, req, res);
  const server: Server = tls
    ? createTlsServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, listener)
    : createServer(listener);
  server.keepAliveTimeout = 65_000;
  // A client that trickles its headers or body must not hold a connection for minutes.
  server.headersTimeout = 15_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    hub,
    server,
    url: `${tls ? 'https' : 'http'}://${shownHost}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(hub: Hub, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let reply: Reply;
  try {
    reply = await route(hub, req);
  } catch (err) {
    reply = replyForError(hub, req, err);
  }
  send(res, req, reply);
}

async function route(hub: Hub, req: IncomingMessage): Promise<Reply> {
  // The one hot route (every agent, every few seconds) skips URL parsing and the route table.
  if (req.url === REPORTS_PATH && req.method === 'POST') return receiveReport(hub, req);
  const url = new URL(req.url ?? '/', 'http://hub.invalid');
  const match = matchRoute(routes, req.method ?? 'GET', url.pathname);
  if (!match) throw new HttpError(404, `no such page: ${url.pathname}`);
  if ('methods' in match) {
    throw new HttpError(405, `${req.method} is not allowed here; use ${match.methods.join(' or ')}`);
  }
  const access =
    match.route.access === 'metrics' ? (hub.settings.privateMetrics ? 'read' : 'public') : match.route.access;
  if (access === 'read' && !readAllowed(hub.settings.readToken, credentialOf(req.headers.authorization))) {
    return {
      ...errorReply(new HttpError(401, 'this hub requires its read token (Bearer, or Basic password)')),
      headers: { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="strata hub"' },
    };
  }
  if (match.route.access === 'admin') checkAdmin(hub, req);
  const ctx: RequestContext = { hub, req, url, params: match.params };
  return match.route.handle(ctx);
}

function checkAdmin(hub: Hub, req: IncomingMessage): void {
  const expected = hub.settings.adminToken;
  if (expected === undefined)
    throw new HttpError(403, 'rollout control is off: start the hub with --admin-token-file');
  if (!readAllowed(expected, credentialOf(req.headers.authorization)))
    throw new HttpError(401, 'this needs the hub admin token (Authorization: Bearer <admin token>)');
}

function replyForError(hub: Hub, req: IncomingMessage, err: unknown): Reply {
  if (err instanceof HttpError) {
    const reply = errorReply(err);
    // An unread oversized body is not worth draining: close the connection after answering.
    return err.status === 413 ? { ...reply, headers: { ...reply.headers, connection: 'close' } } : reply;
  }
  hub.logger.error({ err, method: req.method, url: req.url }, 'Request failed.');
  return json(500, { error: 'internal error; see the hub log' });
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

/** Every answer's headers for a plain JSON reply, merged once. */
const JSON_REPLY_HEADERS = { ...SECURITY_HEADERS, 'cache-control': 'no-store', ...JSON_HEADERS };

function send(res: ServerResponse, req: IncomingMessage, reply: Reply): void {
  res.writeHead(
    reply.status,
    reply.headers === JSON_HEADERS
      ? JSON_REPLY_HEADERS
      : { ...SECURITY_HEADERS, 'cache-control': 'no-store', ...reply.headers },
  );
  res.end(req.method === 'HEAD' ? undefined : reply.body);
}
