/** Fleet overview: counts by phase, and every cluster filterable by label selector and phase. */

import type { ClusterView, FleetView } from '../api/views.js';
import { CLUSTER_PHASES } from '../fleet/summary.js';
import { badge, clusterLink, commitLink, labelChips, lastSeen, plural } from './format.js';
import { html, type SafeHtml } from './html.js';
import type { Page } from './layout.js';

/** Rows rendered at most: a page of 10,000 rows refreshed every few seconds helps nobody. */
const MAX_ROWS = 500;

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
    return html`<p class="empty">No cluster matches. Clusters appear here after their first report.</p>`;
  }
  const shown = view.clusters.slice(0, MAX_ROWS);
  const more = view.clusters.length - shown.length;
  return html`<p class="muted">${shown.length} of ${view.total} clusters shown${
    more > 0 ? ` — ${more} more match; narrow the list with a label selector or a phase` : ''
  }</p>
<table class="grid clusters">
<thead><tr><th>Cluster</th><th>Labels</th><th>Phase</th><th>Health</th><th>Commit</th><th>Last seen</th><th>Problems</th></tr></thead>
<tbody>${shown.map(clusterRow)}</tbody>
</table>`;
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
