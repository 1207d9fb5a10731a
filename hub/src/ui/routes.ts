/** Dashboard routes. `?format=sections` answers a page's refreshable sections as JSON. */
import { clusterNameOf } from '../api/clusters.js';
import { HttpError, json, type Reply } from '../api/http.js';
import { findRollout, rolloutViewOf } from '../api/rollout-view.js';
import type { Hub, RequestContext, Route } from '../api/router.js';
import {
  clusterDetail,
  clusterHistory,
  commitOf,
  type FleetView,
  fleetView,
  rolloutView,
} from '../api/views.js';
import { CLUSTER_PHASES } from '../fleet/summary.js';
import { APP_JS, STYLE_CSS } from './assets.js';
import { clusterPage } from './cluster.js';
import { html } from './html.js';
import type { Page } from './layout.js';
import { overviewPage } from './overview.js';
import { pageReply } from './reply.js';
import { rolloutPage } from './rollout.js';

const HISTORY_SHOWN = 20;

/** The dashboard's pages and its assets. */
export const uiRoutes: Route[] = [
  { method: 'GET', path: '/', access: 'read', handle: overview },
  { method: 'GET', path: '/clusters/:name', access: 'read', handle: cluster },
  { method: 'GET', path: '/commits/:sha', access: 'read', handle: rollout },
  {
    method: 'GET',
    path: '/assets/app.js',
    access: 'public',
    handle: async () => asset(APP_JS, 'text/javascript'),
  },
  {
    method: 'GET',
    path: '/assets/style.css',
    access: 'public',
    handle: async () => asset(STYLE_CSS, 'text/css'),
  },
];

function asset(body: string, type: string): Reply {
  return {
    status: 200,
    headers: { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'max-age=300' },
    body,
  };
}

async function overview(ctx: RequestContext): Promise<Reply> {
  const q = ctx.url.searchParams;
  const filter = {
    selector: q.get('selector'),
    phase: q.get('phase'),
    prefix: q.get('prefix'),
    limit: q.get('limit'),
    continue: q.get('continue'),
  };
  try {
    return pageReply(ctx, overviewPage(await fleetView(ctx.hub, filter)));
  } catch (err) {
    if (!(err instanceof HttpError) || err.status !== 400) throw err;
    if (ctx.url.searchParams.get('format') === 'sections') throw err;
    const empty = await emptyFleet(ctx.hub, filter.selector ?? '', filter.prefix ?? '');
    return pageReply(ctx, overviewPage(empty, err.message), 400);
  }
}

async function emptyFleet(hub: Hub, selector: string, prefix: string): Promise<FleetView> {
  const all = await fleetView(hub, { limit: '1' });
  return {
    ...all,
    selector,
    prefix,
    clusters: [],
    continue: null,
    counts: Object.fromEntries(CLUSTER_PHASES.map((p) => [p, 0])) as FleetView['counts'],
  };
}

async function cluster(ctx: RequestContext): Promise<Reply> {
  const name = clusterNameOf(ctx.params.name!);
  const detail = await clusterDetail(ctx.hub, name);
  if (!detail) return notFound(ctx, `Cluster "${name}" has not reported yet.`);
  const { history } = await clusterHistory(ctx.hub, name, HISTORY_SHOWN);
  return pageReply(ctx, clusterPage({ ...detail, history, now: ctx.hub.now() }));
}

async function rollout(ctx: RequestContext): Promise<Reply> {
  const sha = commitOf(ctx.params.sha!);
  const q = ctx.url.searchParams;
  const filter = {
    selector: q.get('selector'),
    state: q.get('state'),
    limit: q.get('limit'),
    continue: q.get('continue'),
  };
  const staged = await findRollout(ctx.hub, sha);
  const gate = staged && staged !== 'ambiguous' ? await rolloutViewOf(ctx.hub, staged) : undefined;
  return pageReply(ctx, rolloutPage(await rolloutView(ctx.hub, sha, filter), ctx.hub.now(), gate));
}

function notFound(ctx: RequestContext, message: string): Reply {
  const page: Page = {
    title: 'Not found',
    sections: { message: html`<p class="empty">${message}</p>` },
    body: (section) => html`<h1>Not found</h1>${section('message')}<p><a href="/">Back to the fleet</a></p>`,
  };
  return pageReply(ctx, page, 404);
}
