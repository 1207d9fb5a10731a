/** Cluster detail: summary, each source (commit, sync, errors), objects with health, drift, history. */
import type { PreviewStatus, Report, SourceStatus } from '../../../contract/report.js';
import type { ClusterView } from '../api/views.js';
import { ago } from '../fleet/time.js';
import type { HistoryEntry } from '../store/store.js';
import { badge, commitLink, labelChips, lastSeen, plural, shortSha } from './format.js';
import { html, type SafeHtml } from './html.js';
import type { Page } from './layout.js';

const MAX_OBJECTS_SHOWN = 300;

/** What the cluster page shows: the cluster, its latest report, its history and the time. */
export interface ClusterPageData {
  cluster: ClusterView;
  report: Report;
  history: HistoryEntry[];
  now: number;
}

/** One cluster's page: sources, health of objects, errors, drift, history. */
export function clusterPage(data: ClusterPageData): Page {
  const { cluster, report } = data;
  return {
    title: cluster.name,
    sections: {
      summary: summary(cluster, report),
      sources: html`${report.sources.map(sourceCard)}`,
      objects: objects(report.sources),
      drift: drift(report.sources),
      previews: previews(report.previews),
      history: history(data.history, data.now),
    },
    body: (section) => html`
<p class="crumbs"><a href="/">Fleet</a> › cluster</p>
<h1>${cluster.name}</h1>
${section('summary')}
<h2>Sources</h2>
${section('sources')}
<h2>Objects</h2>
${section('objects')}
<h2>Drift</h2>
${section('drift')}
<h2>Pull-request previews</h2>
${section('previews')}
<h2>Recent history</h2>
${section('history')}`,
  };
}

function summary(c: ClusterView, report: Report): SafeHtml {
  return html`<dl class="facts">
  <div><dt>Phase</dt><dd>${badge(c.phase)}</dd></div>
  <div><dt>Health</dt><dd>${badge(c.health)}</dd></div>
  <div><dt>Commit</dt><dd>${commitLink(c.commit)}</dd></div>
  <div><dt>Last seen</dt><dd>${lastSeen(c.lastSeen, c.lastSeenAgeSeconds, c.stale)}</dd></div>
  <div><dt>Report</dt><dd>#${c.seq}${report.compacted ? ` (${report.compacted} older folded in)` : ''}</dd></div>
  <div><dt>Agent</dt><dd>${report.agent.version}</dd></div>
  ${truncatedMark(report)}
</dl>
<p class="labels">${labelChips(c.labels)}</p>`;
}

/** A report the agent trimmed to fit the hub's body limit says so, with what it left out. */
function truncatedMark(report: Report): SafeHtml {
  const t = report.truncated;
  if (!t) return html``;
  const parts = Object.entries(t.omitted)
    .filter(([, n]) => n > 0)
    .map(([what, n]) => `${n} ${what.replace(/([A-Z])/g, ' $1').toLowerCase()}`);
  return html`<div class="truncated"><dt>Truncated</dt><dd><span class="warn">report trimmed to ${t.limitBytes} bytes: ${parts.join(', ')} left out</span></dd></div>`;
}

function sourceCard(s: SourceStatus): SafeHtml {
  const sync = s.sync;
  return html`<section class="source">
  <div class="source-head"><code class="url">${s.url}</code> <span class="ref">@ ${s.ref}</span>${
    s.path ? html` <span class="muted">/${s.path}</span>` : ''
  } ${sync ? badge(sync.phase) : badge('Unknown')} ${s.health ? badge(s.health.status) : ''}</div>
  <dl class="facts small">
    <div><dt>Fetched</dt><dd>${commitLink(s.commit)}${s.fetchedAt ? html` <span class="muted">at ${s.fetchedAt}</span>` : ''}</dd></div>
    <div><dt>Applied</dt><dd>${commitLink(sync?.commit ?? null)}${sync ? html` <span class="muted">at ${sync.finishedAt}</span>` : ''}</dd></div>
    <div><dt>Git</dt><dd>${s.reachable ? html`<span class="ok">reachable</span>` : html`<span class="warn">unavailable — enforcing the last fetched commit</span>`}</dd></div>
    ${sync ? html`<div><dt>Last sync</dt><dd>${sync.created} created · ${sync.updated} updated · ${sync.pruned} pruned · ${sync.unchanged} unchanged</dd></div>` : ''}
  </dl>
  ${errorList(s)}
</section>`;
}

function errorList(s: SourceStatus): SafeHtml {
  const errors = [...(s.error ? [s.error] : []), ...(s.sync?.errors ?? [])];
  const conflicts = s.sync?.conflicts ?? [];
  if (errors.length === 0 && conflicts.length === 0) return html``;
  return html`<ul class="errors">
  ${errors.map(
    (e) =>
      html`<li><strong>${e.reason ?? 'Error'}</strong>${e.object ? html` <code>${e.object}</code>` : ''}${
        e.file
          ? html` <code>${e.file}${e.doc !== undefined ? `#${e.doc}` : ''}${e.line !== undefined ? `:${e.line}` : ''}</code>`
          : ''
      }: ${e.message}${e.since ? html` <span class="muted">since ${e.since}</span>` : ''}</li>`,
  )}
  ${conflicts.map(
    (c) =>
      html`<li><strong>Conflict</strong> <code>${c.object}</code>${c.field ? html` field <code>${c.field}</code>` : ''}${
        c.manager ? html` owned by <code>${c.manager}</code>` : ''
      }${c.message ? `: ${c.message}` : ''}</li>`,
  )}
</ul>`;
}

function objects(sources: SourceStatus[]): SafeHtml {
  const all = sources.flatMap((s) => s.health?.objects ?? []);
  if (all.length === 0) return html`<p class="empty">No objects reported.</p>`;
  const severity: Record<string, number> = {
    Failed: 0,
    Unknown: 1,
    InProgress: 2,
    Terminating: 3,
    NotFound: 4,
    Current: 5,
  };
  const sorted = [...all].sort(
    (a, b) => (severity[a.status] ?? 9) - (severity[b.status] ?? 9) || a.id.localeCompare(b.id),
  );
  const shown = sorted.slice(0, MAX_OBJECTS_SHOWN);
  return html`<table class="grid objects">
<thead><tr><th>Object</th><th>Status</th><th>Message</th></tr></thead>
<tbody>${shown.map((o) => html`<tr><td><code>${o.id}</code></td><td>${badge(o.status)}</td><td>${o.message}</td></tr>`)}</tbody>
</table>${all.length > shown.length ? html`<p class="muted">${all.length - shown.length} more objects not shown (all of them are Current or less severe).</p>` : ''}`;
}

function drift(sources: SourceStatus[]): SafeHtml {
  const all = sources.flatMap((s) => s.drift);
  if (all.length === 0) return html`<p class="empty">No drift detected.</p>`;
  return html`<table class="grid">
<thead><tr><th>Object</th><th>Fields</th><th>Action</th><th>Detected</th></tr></thead>
<tbody>${all.map(
    (d) =>
      html`<tr><td><code>${d.id}</code></td><td>${d.fields.map((f) => html`<code>${f}</code> `)}</td><td>${d.action}</td><td>${d.detectedAt}</td></tr>`,
  )}</tbody></table>`;
}

function previews(list: PreviewStatus[]): SafeHtml {
  if (list.length === 0) return html`<p class="empty">No pull-request refs watched.</p>`;
  return html`<table class="grid">
<thead><tr><th>Ref</th><th>Commit</th><th>State</th><th>Plan</th></tr></thead>
<tbody>${list.map((p) => {
    const counts = new Map<string, number>();
    for (const e of p.plan?.entries ?? []) counts.set(e.action, (counts.get(e.action) ?? 0) + 1);
    const plan = p.error
      ? html`<span class="warn">${p.error.message}</span>`
      : html`${[...counts].map(([a, n]) => html`<span class="chip">${a} ${n}</span>`)}`;
    return html`<tr><td><code>${p.ref}</code></td><td><code>${shortSha(p.commit)}</code></td><td>${p.state}</td><td>${plan}</td></tr>`;
  })}</tbody></table>`;
}

function history(entries: HistoryEntry[], now: number): SafeHtml {
  if (entries.length === 0) return html`<p class="empty">No history.</p>`;
  return html`<table class="grid history">
<thead><tr><th>Report</th><th>Received</th><th>Commit</th><th>Phase</th><th>Health</th><th>Problems</th></tr></thead>
<tbody>${entries.map(
    (e) => html`<tr class="${e.applied ? '' : 'muted'}"><td>#${e.seq}${e.applied ? '' : ' (late)'}</td>
<td title="${new Date(e.receivedAt).toISOString()}">${ago(now - e.receivedAt)}</td><td>${commitLink(e.summary.commit)}</td>
<td>${badge(e.summary.phase)}</td><td>${badge(e.summary.health)}</td>
<td>${e.summary.errors ? html`<span class="warn">${plural(e.summary.errors, 'error')}</span>` : ''}${e.summary.drift ? html`<span class="warn">${e.summary.drift} drifted</span>` : ''}</td></tr>`,
  )}</tbody></table>`;
}
