/** The fleet's live plans of one pull-request ref as a PR comment (the hub serves it as Markdown). */
import {
  PREVIEW_CLUSTER_STATES,
  type PreviewClusterState,
  type PreviewClusterView,
  type PreviewView,
} from './live-preview.js';
import { cell, code } from './markdown.js';
import type { PreviewPlanEntry } from './report.js';

const MAX_CHARS = 60_000;
const MAX_ROWS_PER_ENTRY = 20;
const STATE_TEXT: Record<PreviewClusterState, string> = {
  planned: 'planned',
  failed: '**failed**',
  stale: 'stale (older commit)',
  notReported: 'not reported',
  closed: 'closed',
};

function n(counts: Record<string, number>, action: string): number {
  return counts[action] ?? 0;
}

function entryLines(e: PreviewPlanEntry): string[] {
  const lines = [`**${cell(e.action)}** ${code(e.id)}`];
  const changes = Array.isArray(e.changes) ? (e.changes as Record<string, unknown>[]) : [];
  for (const ch of changes.slice(0, MAX_ROWS_PER_ENTRY)) {
    const value = (v: unknown) =>
      ch.redacted
        ? '_(secret, hidden)_'
        : v === undefined
          ? '_(none)_'
          : code(JSON.stringify(v).slice(0, 100));
    lines.push(`- ${code(String(ch.path ?? ''))}: ${value(ch.before)} → ${value(ch.after)}`);
  }
  if (changes.length > MAX_ROWS_PER_ENTRY)
    lines.push(`- _… ${changes.length - MAX_ROWS_PER_ENTRY} more fields_`);
  const conflicts = Array.isArray(e.conflicts) ? (e.conflicts as Record<string, unknown>[]) : [];
  for (const c of conflicts)
    lines.push(`- conflict: ${code(String(c.field ?? ''))} is owned by ${code(String(c.manager ?? '?'))}`);
  const error = e.error as { reason?: unknown; message?: unknown } | undefined;
  if (error) lines.push(`- error ${cell(String(error.reason ?? ''))}: ${cell(String(error.message ?? ''))}`);
  lines.push('');
  return lines;
}

function clusterSection(names: string[], c: PreviewClusterView): string[] {
  const title =
    c.state === 'failed' ? `failed: ${cell(c.error?.message ?? '')}` : `${c.entries.length} object(s) change`;
  const lines = ['<details>', `<summary><b>${names.map(cell).join(', ')}</b>: ${title}</summary>`, ''];
  if (c.error?.file) lines.push(`At ${code(`${c.error.file}${c.error.line ? `:${c.error.line}` : ''}`)}`, '');
  for (const e of c.entries) lines.push(...entryLines(e));
  lines.push('</details>', '');
  return lines;
}

/** The fleet's live plans of one PR as Markdown for a PR comment; identical plans shown once. */
export function previewMarkdown(view: PreviewView): string {
  const lines = [
    `### Strata live preview: ${code(view.ref)}${view.headCommit ? ` (${view.headCommit.slice(0, 12)})` : ''}`,
    '',
    `${view.total} clusters: ${PREVIEW_CLUSTER_STATES.filter((s) => view.counts[s] > 0)
      .map((s) => `${view.counts[s]} ${STATE_TEXT[s].replace(/\*/g, '')}`)
      .join(', ')}.${view.mergedAs ? ` Merged as ${view.mergedAs.slice(0, 12)}.` : ''}`,
    '',
    '| Cluster | + | ~ | − | Conflicts | Errors | Status |',
    '|---|--:|--:|--:|--:|--:|---|',
  ];
  for (const c of view.clusters) {
    const has = c.state === 'planned' || c.state === 'stale';
    const num = (a: string) => (has ? String(n(c.counts, a)) : '–');
    lines.push(
      `| ${cell(c.name)} | ${num('create')} | ${num('update')} | ${num('delete')} | ${num('conflict')} | ${num('error')} | ${STATE_TEXT[c.state]} |`,
    );
  }
  lines.push('');
  const groups = new Map<string, { names: string[]; cluster: PreviewClusterView }>();
  for (const c of view.clusters) {
    if (!(c.state === 'planned' || c.state === 'failed') || (c.entries.length === 0 && !c.error)) continue;
    const key = JSON.stringify([c.state, c.entries, c.error?.message ?? null]);
    const g = groups.get(key);
    if (g) g.names.push(c.name);
    else groups.set(key, { names: [c.name], cluster: c });
  }
  let size = lines.join('\n').length;
  let left = 0;
  for (const g of groups.values()) {
    const section = clusterSection(g.names, g.cluster);
    const add = section.join('\n').length + 1;
    if (left > 0 || size + add > MAX_CHARS) {
      left += g.names.length;
      continue;
    }
    lines.push(...section);
    size += add;
  }
  if (left > 0)
    lines.push(`**… ${left} more cluster(s) not shown: the comment size limit was reached.**`, '');
  return `${lines.join('\n').trimEnd()}\n`;
}
