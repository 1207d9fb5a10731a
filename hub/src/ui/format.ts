/** Small display helpers shared by the pages. */
import { ago } from '../fleet/time.js';
import { html, type SafeHtml, seg } from './html.js';

/** A commit's first 8 digits, or a dash when there is none. */
export function shortSha(sha: string | null): string {
  return sha ? sha.slice(0, 8) : '—';
}

/** A link to a commit's rollout page. */
export function commitLink(sha: string | null): SafeHtml {
  if (!sha) return html`<span class="muted">—</span>`;
  if (!/^[0-9a-f]{7,64}$/i.test(sha)) return html`<code>${shortSha(sha)}</code>`;
  return html`<a class="sha" href="/commits/${seg(sha)}" title="${sha}">${shortSha(sha)}</a>`;
}

/** A link to a cluster's page. */
export function clusterLink(name: string): SafeHtml {
  return html`<a class="cluster" href="/clusters/${seg(name)}">${name}</a>`;
}

/** A coloured pill for a phase, health, object status or rollout state. */
export function badge(value: string): SafeHtml {
  const text = value === 'notReported' ? 'not reported' : value;
  return html`<span class="badge b-${value.toLowerCase()}">${text}</span>`;
}

/** `1 error`, `3 errors`. */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** A cluster's labels as chips. */
export function labelChips(labels: Record<string, string>): SafeHtml {
  const entries = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return html`<span class="muted">no labels</span>`;
  return html`${entries.map(([k, v]) => html`<span class="chip">${k}=${v}</span>`)}`;
}

/** When a cluster last reported, marked when stale. */
export function lastSeen(iso: string | null, ageSeconds: number | null, stale: boolean): SafeHtml {
  if (iso === null || ageSeconds === null) return html`<span class="stale">never reported</span>`;
  return html`<time datetime="${iso}" title="${iso}" class="${stale ? 'stale' : ''}">${ago(ageSeconds * 1000)}${
    stale ? ' (stale)' : ''
  }</time>`;
}
