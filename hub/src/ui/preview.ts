/** Pull-request pages: the open previews, and one PR's plan on every cluster (with its rollout once merged). */

import {
  PREVIEW_CLUSTER_STATES,
  type PreviewClusterView,
  type PreviewSummary,
  type PreviewView,
} from '../../../contract/live-preview.js';
import { json, type Reply } from '../api/http.js';
import { previewSummaries, previewView } from '../api/preview-view.js';
import { gitRefParam } from '../api/previews.js';
import type { RequestContext, Route } from '../api/router.js';
import { badge, clusterLink, commitLink, labelChips } from './format.js';
import { html, type SafeHtml, seg } from './html.js';
import type { Page } from './layout.js';
import { pageReply } from './reply.js';

/** The dashboard's pull-request preview pages. */
export const previewPageRoutes: Route[] = [
  { method: 'GET', path: '/previews', access: 'read', handle: listPage },
  { method: 'GET', path: '/previews/:ref', access: 'read', handle: detailPage },
];

/** A link to one ref's preview page. */
export function previewLink(ref: string): SafeHtml {
  return html`<a class="ref" href="/previews/${seg(ref)}"><code>${ref}</code></a>`;
}

function changesText(changes: Record<string, number>): string {
  const parts = Object.entries(changes)
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([a, n]) => `${n} ${a}`);
  return parts.length ? parts.join(', ') : 'no changes';
}

function listTable(previews: PreviewSummary[]): SafeHtml {
  if (previews.length === 0) return html`<p class="empty">No open pull-request previews.</p>`;
  return html`<table class="grid previews">
<thead><tr><th>Ref</th><th>Head</th><th>Clusters</th><th>Changes</th></tr></thead>
<tbody>${previews.map(
    (p) => html`<tr data-ref="${p.ref}"><td>${previewLink(p.ref)}</td><td>${commitLink(p.headCommit)}</td>
<td>${PREVIEW_CLUSTER_STATES.filter((s) => p.counts[s] > 0).map((s) => html`${badge(s)} ${p.counts[s]} `)}</td>
<td>${changesText(p.changes)}</td></tr>`,
  )}</tbody></table>`;
}

async function listPage(ctx: RequestContext): Promise<Reply> {
  const previews = await previewSummaries(ctx.hub, 'open');
  return pageReply(ctx, {
    title: 'Pull-request previews',
    sections: { previews: listTable(previews) },
    body: (section) => html`<p class="crumbs"><a href="/">Fleet</a> › previews</p>
<h1>Pull-request previews</h1>
<p class="muted">Each agent watching pull-request refs plans them against its own cluster (dry-run, nothing applied).</p>
${section('previews')}`,
  });
}

function entryRows(c: PreviewClusterView): SafeHtml {
  if (c.state === 'failed') {
    const where = c.error?.file ? `${c.error.file}${c.error.line ? `:${c.error.line}` : ''}` : '';
    const more = c.renderErrors.length > 1 ? ` (${c.renderErrors.length} errors)` : '';
    return html`<div class="error">${where ? html`<code>${where}</code>: ` : ''}${c.error?.message ?? ''}${more}</div>`;
  }
  if (c.entries.length === 0)
    return html`<span class="muted">${c.state === 'planned' ? 'no changes' : ''}</span>`;
  return html`<ul class="plan">${c.entries.slice(0, 100).map((e) => {
    const conflicts = Array.isArray(e.conflicts)
      ? (e.conflicts as { field?: string; manager?: string }[])
      : [];
    const changes = Array.isArray(e.changes) ? (e.changes as { path?: string }[]) : [];
    return html`<li>${badge(e.action)} <code>${e.id}</code>${
      changes.length
        ? html` <span class="muted">${changes
            .slice(0, 5)
            .map((ch) => ch.path ?? '')
            .join(', ')}${changes.length > 5 ? ' …' : ''}</span>`
        : ''
    }${conflicts.map((cf) => html`<div class="conflict">conflict: <code>${cf.field ?? ''}</code> owned by <code>${cf.manager ?? '?'}</code></div>`)}</li>`;
  })}${c.entries.length > 100 ? html`<li class="muted">… ${c.entries.length - 100} more</li>` : ''}</ul>`;
}

function clustersTable(view: PreviewView): SafeHtml {
  const order = (s: string) => PREVIEW_CLUSTER_STATES.indexOf(s as never);
  const rows = [...view.clusters].sort(
    (a, b) => order(a.state) - order(b.state) || a.name.localeCompare(b.name),
  );
  return html`<table class="grid preview">
<thead><tr><th>Cluster</th><th>Labels</th><th>State</th><th>Planned commit</th><th>Plan</th></tr></thead>
<tbody>${rows.map(
    (
      c,
    ) => html`<tr data-cluster="${c.name}" data-state="${c.state}"><td>${clusterLink(c.name)}</td><td class="labels">${labelChips(c.labels)}</td>
<td>${badge(c.state)}</td><td>${commitLink(c.commit)}</td><td>${entryRows(c)}</td></tr>`,
  )}</tbody></table>`;
}

function headline(view: PreviewView): SafeHtml {
  const merged = view.mergedAs
    ? html`<p class="merged">Merged as ${commitLink(view.mergedAs)}: <a href="/commits/${seg(view.mergedAs)}">see its rollout across the fleet</a>.</p>`
    : view.state === 'closed'
      ? html`<p class="muted">Closed${view.headCommit ? html`; head was ${commitLink(view.headCommit)}` : ''}.</p>`
      : '';
  return html`${merged}<div class="cards">${PREVIEW_CLUSTER_STATES.map(
    (s) =>
      html`<div class="card p-${s.toLowerCase()}"><div class="n">${view.counts[s]}</div><div class="k">${s === 'notReported' ? 'not reported' : s}</div></div>`,
  )}</div>`;
}

async function detailPage(ctx: RequestContext): Promise<Reply> {
  const ref = gitRefParam(ctx.params.ref!);
  const view = await previewView(ctx.hub, ref);
  if (!view) {
    return pageReply(
      ctx,
      {
        title: 'Not found',
        sections: {
          message: html`<p class="empty">No cluster has reported a preview of <code>${ref}</code>.</p>`,
        },
        body: (section) =>
          html`<h1>Not found</h1>${section('message')}<p><a href="/previews">All previews</a></p>`,
      },
      404,
    );
  }
  return pageReply(ctx, {
    title: `Preview of ${ref}`,
    sections: { head: headline(view), clusters: clustersTable(view) },
    body: (
      section,
    ) => html`<p class="crumbs"><a href="/">Fleet</a> › <a href="/previews">previews</a> › ref</p>
<h1>Preview of <code>${ref}</code> ${badge(view.state)}</h1>
<p>Head ${commitLink(view.headCommit)} · <a href="/api/v1/previews/${seg(ref)}/markdown">Markdown for the PR comment</a></p>
${section('head')}
${section('clusters')}`,
  });
}
