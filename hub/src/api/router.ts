/**
 * The route table: each feature exports its routes (`reportRoutes`, `clusterRoutes`, `uiRoutes`,
 * later `previewRoutes`), and the server matches them in order. Paths use `:name` for one segment
 * and `*name` for the rest of the path (refs such as `refs/pull/7/head` contain slashes).
 */
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { Store } from '../store/store.js';
import type { TokenCache } from './auth.js';
import type { Reply } from './http.js';
import type { ReportWriter } from './ingest.js';
import type { HubMetrics } from './metrics.js';

/** The hub's HTTP settings: body limit, when a cluster counts as stale, page refresh. */
export interface HubSettings {
  /** Largest accepted request body, bytes. */
  bodyLimit: number;
  /** A cluster not heard from for this long is shown as stale, milliseconds. */
  staleAfterMs: number;
  /** When set, the read API and the dashboard require this token (Bearer, or Basic password). */
  readToken?: string;
  /**
   * Reads without a token: must be said explicitly (`--public-read`), never implied by a missing
   * token. A hub with neither refuses to start.
   */
  publicRead?: boolean;
  /** `/metrics` needs the read token too (default: open, for scrapers and probes). */
  privateMetrics?: boolean;
  /** When set, rollout control (pause, resume, abort, approve) requires this token; unset: control is off. */
  adminToken?: string;
  /** Seconds between dashboard refreshes. */
  refreshSeconds: number;
}

/** What every route handler may use. */
export interface Hub {
  store: Store;
  logger: Logger;
  metrics: HubMetrics;
  writer: ReportWriter;
  /** Cluster tokens already read, by id (the store stays the authority on revocation). */
  tokens: TokenCache;
  settings: HubSettings;
  now(): number;
}

/** What a route handler gets: the hub, the request, its URL and path parameters. */
export interface RequestContext {
  hub: Hub;
  req: IncomingMessage;
  url: URL;
  params: Record<string, string>;
}

/**
 * `public`: anyone; `read`: guarded by the read token (open with `publicRead`); `metrics`: public, or
 * read with `privateMetrics`; `agent`: the route checks a cluster token; `admin`: the admin token
 * (release managers).
 */
export type Access = 'public' | 'read' | 'metrics' | 'agent' | 'admin';

/** One route: method, path pattern, who may call it, and its handler. */
export interface Route {
  method: 'GET' | 'POST';
  path: string;
  access: Access;
  handle(ctx: RequestContext): Promise<Reply>;
}

/** A matched route with its parameters, the methods the path allows (for a 405), or no match. */
export type RouteMatch = { route: Route; params: Record<string, string> } | { methods: string[] } | undefined;

/** Finds the route for a method and path; `{ methods }` when the path exists for other methods only. */
export function matchRoute(routes: readonly Route[], method: string, pathname: string): RouteMatch {
  const segments = pathname.split('/').slice(1);
  const methods: string[] = [];
  for (const route of routes) {
    const params = matchPath(route.path, segments);
    if (!params) continue;
    if (route.method === method || (method === 'HEAD' && route.method === 'GET')) return { route, params };
    methods.push(route.method);
  }
  return methods.length > 0 ? { methods } : undefined;
}

function matchPath(pattern: string, segments: string[]): Record<string, string> | undefined {
  const parts = pattern.split('/').slice(1);
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part.startsWith('*')) {
      if (i >= segments.length) return undefined;
      const rest = decode(segments.slice(i).join('/'));
      if (rest === undefined || rest === '') return undefined;
      params[part.slice(1)] = rest;
      return params;
    }
    const segment = segments[i];
    if (segment === undefined) return undefined;
    if (part.startsWith(':')) {
      const value = decode(segment);
      if (value === undefined || value === '') return undefined;
      params[part.slice(1)] = value;
    } else if (part !== segment) return undefined;
  }
  return parts.length === segments.length ? params : undefined;
}

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
