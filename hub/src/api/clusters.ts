/** The read API: the fleet, one cluster, its history, a commit's rollout. Lists are paged (api/page.ts). */
import { ClusterName } from '../../../contract/report.js';
import { HttpError, json, type Reply } from './http.js';
import type { RequestContext, Route } from './router.js';
import { clusterDetail, clusterHistory, commitOf, fleetView, rolloutView } from './views.js';

/** The read API of clusters: the fleet list and one cluster's detail and history. */
export const clusterRoutes: Route[] = [
  { method: 'GET', path: '/api/v1/clusters', access: 'read', handle: listClusters },
  { method: 'GET', path: '/api/v1/clusters/:name', access: 'read', handle: getCluster },
  { method: 'GET', path: '/api/v1/clusters/:name/history', access: 'read', handle: getHistory },
  { method: 'GET', path: '/api/v1/commits/:sha/rollout', access: 'read', handle: getRollout },
];

async function listClusters({ hub, url }: RequestContext): Promise<Reply> {
  const q = url.searchParams;
  const view = await fleetView(hub, {
    selector: q.get('selector'),
    phase: q.get('phase'),
    prefix: q.get('prefix'),
    limit: q.get('limit'),
    continue: q.get('continue'),
  });
  return json(200, view);
}

async function getCluster({ hub, params }: RequestContext): Promise<Reply> {
  const name = clusterNameOf(params.name!);
  const detail = await clusterDetail(hub, name);
  if (!detail) throw new HttpError(404, `cluster "${name}" has not reported`);
  return json(200, detail);
}

async function getHistory({ hub, params, url }: RequestContext): Promise<Reply> {
  const name = clusterNameOf(params.name!);
  const limit = limitOf(url.searchParams.get('limit'));
  const page = await clusterHistory(hub, name, limit, url.searchParams.get('continue'));
  return json(200, { cluster: name, ...page });
}

async function getRollout({ hub, params, url }: RequestContext): Promise<Reply> {
  const q = url.searchParams;
  const filter = {
    selector: q.get('selector'),
    state: q.get('state'),
    limit: q.get('limit'),
    continue: q.get('continue'),
  };
  return json(200, await rolloutView(hub, commitOf(params.sha!), filter));
}

/** A cluster name from a URL path segment; a 400 when it is not a DNS-1123 name. */
export function clusterNameOf(text: string): string {
  const parsed = ClusterName.safeParse(text);
  if (!parsed.success)
    throw new HttpError(400, `"${text}" is not a cluster name: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** A `limit` query parameter as a number within bounds; a 400 when it is not one. */
export function limitOf(text: string | null, fallback = 50, max = 1000): number {
  if (text === null) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new HttpError(400, `limit must be an integer from 1 to ${max}, got "${text}"`);
  }
  return n;
}
