/**
 * The agent's own HTTP port: `/healthz` (the process answers), `/readyz` (every source has
 * reconciled once), `/metrics` (Prometheus), `POST /sync[?source=NAME][&wait=false]` (reconcile now;
 * loopback clients only, or any client with the bearer token of `syncTokenFile`).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { type ReconcileLoop, UnknownSourceError } from '../loop/index.js';
import type { AgentMetrics } from '../loop/metrics.js';
import { readSyncToken, type SyncAuthorizer, syncAuthorizer } from './sync-auth.js';

/** The agent's HTTP endpoint, started; close it to stop listening. */
export interface AgentServer {
  readonly port: number;
  readonly address: string;
  close(): Promise<void>;
}

/** What the endpoint serves: metrics, readiness and the trigger of a sync. */
export interface AgentServerOptions {
  listen: string;
  loop: ReconcileLoop;
  metrics: AgentMetrics;
  log: Logger;
  /** Bearer token file for `POST /sync`; without it only loopback clients may trigger a sync. */
  syncTokenFile?: string;
}

/** Starts the agent's HTTP endpoint: /metrics, /healthz, /readyz and POST /sync. */
export async function startAgentServer(opts: AgentServerOptions): Promise<AgentServer> {
  const { host, port } = splitListen(opts.listen);
  // A token file that cannot be read stops the start, instead of leaving /sync unusable unnoticed.
  if (opts.syncTokenFile) await readSyncToken(opts.syncTokenFile);
  const authorize = syncAuthorizer(opts.syncTokenFile);
  const server = http.createServer((req, res) => {
    handle(req, res, opts, authorize).catch((err: unknown) => {
      opts.log.error({ err }, 'HTTP handler failed.');
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
      else res.end();
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  opts.log.info({ address: address.address, port: address.port }, 'Listening.');
  return {
    port: address.port,
    address: address.address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  opts: AgentServerOptions,
  authorize: SyncAuthorizer,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://agent');
  const route = `${req.method} ${url.pathname}`;
  switch (route) {
    case 'GET /healthz':
      return send(res, 200, { status: 'ok' });
    case 'GET /readyz':
      return opts.loop.ready
        ? send(res, 200, { status: 'ready' })
        : send(res, 503, { status: 'not ready', reason: 'first reconcile of every source not finished' });
    case 'GET /metrics': {
      const body = await opts.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': opts.metrics.registry.contentType });
      res.end(body);
      return;
    }
    case 'POST /sync': {
      const auth = await authorize(req);
      if (!auth.ok) {
        opts.log.warn({ remote: req.socket.remoteAddress, status: auth.status }, 'Refused POST /sync.');
        if (auth.status === 401) res.setHeader('www-authenticate', 'Bearer realm="strata-agent"');
        return send(res, auth.status, { error: auth.error });
      }
      return triggerSync(url, res, opts);
    }
    default:
      if (['/healthz', '/readyz', '/metrics', '/sync'].includes(url.pathname)) {
        return send(res, 405, { error: `${req.method} not allowed on ${url.pathname}` });
      }
      return send(res, 404, { error: `no route ${url.pathname}` });
  }
}

async function triggerSync(url: URL, res: http.ServerResponse, opts: AgentServerOptions): Promise<void> {
  const source = url.searchParams.get('source') ?? undefined;
  const wait = url.searchParams.get('wait') !== 'false';
  if (source && !opts.loop.sourceNames.includes(source)) {
    return send(res, 404, { error: new UnknownSourceError(source).message, sources: opts.loop.sourceNames });
  }
  opts.log.info({ source: source ?? '(all)' }, 'Manual sync requested.');
  const running = opts.loop.trigger('manual', source);
  if (!wait) {
    running.catch((err: unknown) => opts.log.error({ err }, 'Manual sync failed.'));
    return send(res, 202, { status: 'started' });
  }
  const statuses = await running;
  send(res, 200, {
    sources: statuses.map((s) => ({
      url: s.url,
      commit: s.commit,
      reachable: s.reachable,
      phase: s.sync?.phase ?? null,
      applied: s.sync?.commit ?? null,
      error: s.error,
      rollout: s.rollout ?? null,
    })),
  });
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
}

function splitListen(listen: string): { host: string; port: number } {
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon).replace(/^\[|\]$/g, '') || '0.0.0.0';
  return { host, port: Number(listen.slice(colon + 1)) };
}
