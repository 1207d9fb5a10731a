/** A commit's rollout: which clusters run it and are healthy, which are behind or silent. */
import { DEFAULT_PAGE } from '../api/page.js';
import type { RolloutView as StagedView } from '../api/rollout-view.js';
import type { RolloutView } from '../api/views.js';
import { ROLLOUT_STATES } from '../fleet/rollout.js';
import { ago } from '../fleet/time.js';
import { badge, clusterLink, commitLink, labelChips } from './format.js';
import { html, type SafeHtml } from './html.js';
import type { Page } from './layout.js';
import { wavesSection } from './waves.js';

const STATE_TEXT: Record<string, string> = {
  healthy: 'running it, healthy',
  progressing: 'applying or not healthy yet',
  failed: 'failed to apply',
  behind: 'running another commit',
  notReported: 'never reported',
};

/** One commit's rollout page, with the staged rollout's waves when it has one. */
export function rolloutPage(view: RolloutView, now: number, staged?: StagedView): Page {
  return {
    title: `Rollout of ${view.commit.slice(0, 8)}`,
    sections: { counts: counts(view), waves: wavesSection(staged), clusters: table(view, now) },
    body: (section) => html`
<p class="crumbs"><a href="/">Fleet</a> › commit</p>
<h1>Rollout of <code>${view.commit}</code></h1>
${section('counts')}
${section('waves')}
${section('clusters')}`,
  };
}

function counts(view: RolloutView): SafeHtml {
  const done = view.total ? Math.round((view.counts.healthy / view.total) * 100) : 0;
  return html`<progress class="rollout-bar" max="100" value="${done}" title="${done}% healthy">${done}%</progress>
<div class="cards">
  <div class="card total"><div class="n">${done}%</div><div class="k">of ${view.total} healthy</div></div>
  ${ROLLOUT_STATES.map(
    (s) =>
      html`<a class="card r-${s.toLowerCase()}${view.state === s ? ' active' : ''}" href="${stateLink(view, s)}"><div class="n">${view.counts[s]}</div><div class="k">${s === 'notReported' ? 'not reported' : s}</div></a>`,
  )}
</div>`;
}

function stateLink(view: RolloutView, state: string | null, token?: string): string {
  const q = new URLSearchParams();
  if (view.selector) q.set('selector', view.selector);
  if (state) q.set('state', state);
  if (view.limit !== DEFAULT_PAGE) q.set('limit', String(view.limit));
  if (token) q.set('continue', token);
  const query = q.toString();
  return `/commits/${encodeURIComponent(view.commit)}${query ? `?${query}` : ''}`;
}

/** One page in name order; the state cards narrow it to the clusters needing attention. */
function table(view: RolloutView, now: number): SafeHtml {
  if (view.clusters.length === 0)
    return html`<p class="empty">No clusters ${view.state ? 'in this state' : 'known'}.</p>`;
  const shown = view.state ? view.counts[view.state] : view.total;
  return html`<p class="muted">${view.clusters.length} of ${shown} clusters on this page${
    view.state ? html` (${view.state}; <a href="${stateLink(view, null)}">all</a>)` : ''
  }${view.continue ? html` — <a class="next-page" href="${stateLink(view, view.state, view.continue)}">next page</a>` : ''}</p>
<table class="grid rollout">
<thead><tr><th>Cluster</th><th>Labels</th><th>Rollout</th><th>Runs</th><th>Phase</th><th>Health</th><th>Last seen</th></tr></thead>
<tbody>${view.clusters.map(
    (
      c,
    ) => html`<tr data-cluster="${c.name}" data-state="${c.state}"><td>${clusterLink(c.name)}</td><td class="labels">${labelChips(c.labels)}</td>
<td>${badge(c.state)} <span class="muted">${STATE_TEXT[c.state]}</span></td><td>${commitLink(c.commit)}</td>
<td>${badge(c.phase)}</td><td>${badge(c.health)}</td>
<td>${c.receivedAt === null ? html`<span class="stale">never</span>` : html`<span class="${c.stale ? 'stale' : ''}">${ago(now - c.receivedAt)}</span>`}</td></tr>`,
  )}</tbody></table>`;
}
