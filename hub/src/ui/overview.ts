/**
 * Fleet overview: counts by phase (computed by the store), and one page of clusters, searchable by name
 * prefix, label selector and phase, with a link to the next page. It never loads the whole fleet.
 */

import { DEFAULT_PAGE } from '../api/page.js';
import type { ClusterView, FleetView } from '../api/views.js';
import { CLUSTER_PHASES } from '../fleet/summary.js';
import { badge, clusterLink, commitLink, labelChips, lastSeen, plural } from './format.js';
import { html, type SafeHtml } from './html.js';
import type { Page } from './layout.js';

/** The fleet page: counts, filters and the clusters of one page. */
export function overviewPage(view: FleetView, error?: string): Page {
  return {
    title: 'Fleet',
    sections: { counts: phaseCounts(view), clusters: clusterTable(view, error) },
    body: (section) => html`
<h1>Fleet</h1>
${section('counts')}
${filterForm(view)}
${section('clusters')}`,
  };
}

function filterForm(view: FleetView): SafeHtml {
  return html`<form class="filters" method="get" action="/" data-filter>
  <label>Name starts with
    <input name="prefix" value="${view.prefix}" placeholder="prod-" spellcheck="false" autocomplete="off">
  </label>
  <label>Label selector
    <input name="selector" value="${view.selector}" placeholder="env=prod,region in (eu,us)" spellcheck="false" autocomplete="off">
  </label>
  <label>Phase
    <select name="phase">
      <option value="">All phases</option>
      ${CLUSTER_PHASES.map((p) => html`<option value="${p}"${view.phase === p ? html` selected` : ''}>${p}</option>`)}
    </select>
  </label>
  <button type="submit">Filter</button>
  <a class="reset" href="/">Reset</a>
</form>`;
}

function phaseCounts(view: FleetView): SafeHtml {
  const link = (phase: string) => {
    const q = new URLSearchParams();
    if (view.selector) q.set('selector', view.selector);
    if (view.prefix) q.set('prefix', view.prefix);
    q.set('phase', phase);
    return `/?${q}`;
  };
  return html`<div class="cards">
  <div class="card total"><div class="n">${view.total}</div><div class="k">clusters</div></div>
  ${CLUSTER_PHASES.map(
    (p) => html`<a class="card p-${p.toLowerCase()}${view.phase === p ? ' active' : ''}" href="${link(p)}">
    <div class="n">${view.counts[p]}</div><div class="k">${p}</div></a>`,
  )}
  <div class="card ${view.stale > 0 ? 'p-stale' : ''}"><div class="n">${view.stale}</div><div class="k">stale &gt; ${Math.round(view.staleAfterSeconds / 60)} min</div></div>
</div>`;
}

function clusterTable(view: FleetView, error?: string): SafeHtml {
  if (error) return html`<p class="error-banner">${error}</p>`;
  if (view.clusters.length === 0) {
    return html`<p class="empty">No cluster matches. Clusters appear here once they have a token.</p>`;
  }
  const matching = view.phase ? view.counts[view.phase] : view.total;
  return html`<p class="muted">${view.clusters.length} of ${matching} matching clusters on this page, in name order${
    view.continue ? html` — <a class="next-page" href="${pageLink(view, view.continue)}">next page</a>` : ''
  }</p>
<table class="grid clusters">
<thead><tr><th>Cluster</th><th>Labels</th><th>Phase</th><th>Health</th><th>Commit</th><th>Last seen</th><th>Problems</th></tr></thead>
<tbody>${view.clusters.map(clusterRow)}</tbody>
</table>`;
}

function pageLink(view: FleetView, token: string): string {
  const q = new URLSearchParams();
  if (view.prefix) q.set('prefix', view.prefix);
  if (view.selector) q.set('selector', view.selector);
  if (view.phase) q.set('phase', view.phase);
  if (view.limit !== DEFAULT_PAGE) q.set('limit', String(view.limit));
  q.set('continue', token);
  return `/?${q}`;
}

function clusterRow(c: ClusterView): SafeHtml {
  const problems: SafeHtml[] = [];
  if (c.sourceUnavailable) problems.push(html`<span class="warn">source unavailable</span>`);
  if (c.errors > 0) problems.push(html`<span class="warn">${plural(c.errors, 'error')}</span>`);
  if (c.drift > 0) problems.push(html`<span class="warn">${c.drift} drifted</span>`);
  return html`<tr data-cluster="${c.name}" data-phase="${c.phase}" class="${c.stale ? 'is-stale' : ''}">
<td>${clusterLink(c.name)}</td><td class="labels">${labelChips(c.labels)}</td>
<td>${badge(c.phase)}</td><td>${badge(c.health)}</td><td>${commitLink(c.commit)}</td>
<td>${lastSeen(c.lastSeen, c.lastSeenAgeSeconds, c.stale)}</td>
<td>${problems.length ? problems : html`<span class="muted">—</span>`}</td></tr>`;
}
