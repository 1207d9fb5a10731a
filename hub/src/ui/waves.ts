/** A staged rollout on the commit page: each wave, each cluster's state in it, soak left, budget, why blocked. */
import type { RolloutView } from '../api/rollout-view.js';
import type { ClusterGate, WaveGate } from '../fleet/gate.js';
import { badge, clusterLink } from './format.js';
import { html, type SafeHtml } from './html.js';

const seconds = (ms: number | null) => (ms === null ? '—' : `${Math.ceil(ms / 1000)}s`);

/**
 * A staged rollout's waves and their clusters, or nothing when the commit has no staged rollout.
 */
export function wavesSection(view: RolloutView | undefined): SafeHtml {
  if (!view)
    return html`<p class="muted">No staged rollout: this commit's strata.yaml declares no waves, or no agent announced it.</p>`;
  const { gate, rollout } = view;
  return html`<h2>Staged rollout ${badge(gate.state)}</h2>
<p class="rollout-reason" data-state="${gate.state}">${gate.reason}</p>
<p class="muted">Started ${new Date(rollout.startedAt).toISOString()}; decided ${new Date(view.decidedAt).toISOString()}.</p>
${gate.waves.map(wave)}`;
}

function wave(w: WaveGate): SafeHtml {
  return html`<section class="wave" data-wave="${w.name}" data-state="${w.state}">
<h3>Wave ${w.index}: ${w.name} ${badge(w.state)}</h3>
<dl class="facts">
  <div><dt>Clusters</dt><dd>${w.size}</dd></div>
  <div><dt>Failure budget</dt><dd>${w.failures} of ${w.allowedFailures} spent${w.failures > w.allowedFailures ? ' (over)' : ''}</dd></div>
  <div><dt>Soak left</dt><dd>${seconds(w.soakLeftMs)}</dd></div>
  <div><dt>Soak</dt><dd>${seconds(w.policy.soakMs)}</dd></div>
  <div><dt>Max concurrent</dt><dd>${w.policy.maxConcurrent ?? 'all'}</dd></div>
  <div><dt>Approval</dt><dd>${w.policy.approval ? 'manual' : 'none'}</dd></div>
  <div><dt>Offline</dt><dd>${w.policy.offline} after ${seconds(w.policy.offlineGraceMs)}</dd></div>
</dl>
${w.reason ? html`<p class="blocked">${w.state === 'passed' ? '' : 'Blocked: '}${w.reason}</p>` : ''}
${
  w.clusters.length === 0
    ? html`<p class="empty">No cluster in this wave.</p>`
    : html`<table class="grid wave-clusters"><thead><tr><th>Cluster</th><th>State</th><th>Released</th><th>Soak left</th><th>Why</th></tr></thead>
<tbody>${w.clusters.map(row)}</tbody></table>`
}
</section>`;
}

function row(c: ClusterGate): SafeHtml {
  return html`<tr data-cluster="${c.name}" data-state="${c.state}"><td>${clusterLink(c.name)}</td><td>${badge(c.state)}</td>
<td>${c.released ? 'yes' : 'no'}</td><td>${seconds(c.soakLeftMs)}</td><td class="muted">${c.reason}</td></tr>`;
}
