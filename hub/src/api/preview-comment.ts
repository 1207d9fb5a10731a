/**
 * The hub's live preview of one pull-request ref as a PR comment: maps the fleet's view
 * (contract/live-preview.ts) to the shared renderer's `PrComment`, the renderer `strata preview`
 * uses too, so both comments follow one layout and one set of limits.
 */
import {
  PREVIEW_CLUSTER_STATES,
  type PreviewClusterState,
  type PreviewClusterView,
  type PreviewView,
} from '../../../contract/live-preview.js';
import { cell, code } from '../../../contract/markdown.js';
import {
  type CommentFieldChange,
  type CommentObject,
  type CommentSection,
  type PrComment,
  renderPrComment,
} from '../../../contract/pr-comment.js';
import type { PreviewPlanEntry } from '../../../contract/report.js';

const STATE_TEXT: Record<PreviewClusterState, string> = {
  planned: 'planned',
  failed: '**failed**',
  stale: 'stale (older commit)',
  notReported: 'not reported',
  closed: 'closed',
};

/** An entry's field changes as the agent reported them; anything but a list of objects is none. */
function changesOf(e: PreviewPlanEntry): CommentFieldChange[] {
  const changes = Array.isArray(e.changes) ? (e.changes as Record<string, unknown>[]) : [];
  return changes.map((ch) => ({
    path: String(ch.path ?? ''),
    before: ch.before,
    after: ch.after,
    redacted: Boolean(ch.redacted),
  }));
}

function commentObject(e: PreviewPlanEntry): CommentObject {
  const notes: string[] = [];
  const conflicts = Array.isArray(e.conflicts) ? (e.conflicts as Record<string, unknown>[]) : [];
  for (const c of conflicts)
    notes.push(`- conflict: ${code(String(c.field ?? ''))} is owned by ${code(String(c.manager ?? '?'))}`);
  const error = e.error as { reason?: unknown; message?: unknown } | undefined;
  if (error) notes.push(`- error ${cell(String(error.reason ?? ''))}: ${cell(String(error.message ?? ''))}`);
  const more = typeof e.moreChanges === 'number' && e.moreChanges > 0 ? e.moreChanges : 0;
  return {
    heading: `**${cell(e.action)}** ${code(e.id)}`,
    changes: changesOf(e),
    ...(more > 0 ? { moreChanges: more } : {}),
    notes,
  };
}

function commentSection(names: string[], c: PreviewClusterView): CommentSection {
  const title =
    c.state === 'failed' ? `failed: ${cell(c.error?.message ?? '')}` : `${c.entries.length} object(s) change`;
  const lines = c.error?.file
    ? [`At ${code(`${c.error.file}${c.error.line ? `:${c.error.line}` : ''}`)}`, '']
    : [];
  return { clusters: names, title, lines, objects: c.entries.map(commentObject) };
}

/** Planned or failed clusters with identical entries and error, in the view's order, shown once. */
function sections(view: PreviewView): CommentSection[] {
  const groups = new Map<string, { names: string[]; cluster: PreviewClusterView }>();
  for (const c of view.clusters) {
    if (!(c.state === 'planned' || c.state === 'failed') || (c.entries.length === 0 && !c.error)) continue;
    const key = JSON.stringify([c.state, c.entries, c.error?.message ?? null]);
    const g = groups.get(key);
    if (g) g.names.push(c.name);
    else groups.set(key, { names: [c.name], cluster: c });
  }
  return [...groups.values()].map((g) => commentSection(g.names, g.cluster));
}

function tableRow(c: PreviewClusterView): string[] {
  const has = c.state === 'planned' || c.state === 'stale';
  const num = (a: string) => (has ? String(c.counts[a] ?? 0) : '–');
  const actions = ['create', 'update', 'delete', 'conflict', 'error'];
  return [cell(c.name), ...actions.map(num), STATE_TEXT[c.state]];
}

const MAX_WAVE_NAMES = 20;

/**
 * Which clusters the merge reaches in which wave, as each agent placed itself under the rollout
 * rules of the commit it planned: the staged rollout this PR would start. No lines when no cluster
 * reports waves (the head declares none, or the agents predate it).
 */
function waveLines(view: PreviewView): string[] {
  const waves = new Map<number, { name: string; clusters: string[] }>();
  const unplaced: string[] = [];
  for (const c of view.clusters) {
    if (c.state === 'closed') continue;
    if (!c.wave || c.state === 'notReported') {
      unplaced.push(c.name);
      continue;
    }
    const w = waves.get(c.wave.index) ?? { name: c.wave.name, clusters: [] };
    w.clusters.push(c.name);
    waves.set(c.wave.index, w);
  }
  if (waves.size === 0) return [];
  const names = (list: string[]) =>
    list.slice(0, MAX_WAVE_NAMES).map(cell).join(', ') +
    (list.length > MAX_WAVE_NAMES ? ` and ${list.length - MAX_WAVE_NAMES} more` : '');
  const rows = [...waves.entries()]
    .sort(([a], [b]) => a - b)
    .map(([index, w]) => `| ${index} ${cell(w.name)} | ${w.clusters.length} | ${names(w.clusters)} |`);
  if (unplaced.length > 0) rows.push(`| not known | ${unplaced.length} | ${names(unplaced)} |`);
  return [
    `**Rollout of the merge in waves** (each agent's wave under the rules of the commit it planned):`,
    '',
    '| Wave | Clusters | Members |',
    '|---|--:|---|',
    ...rows,
    '',
  ];
}

/** The live preview as the shared renderer's input. */
export function livePreviewComment(view: PreviewView): PrComment {
  const counts = PREVIEW_CLUSTER_STATES.filter((s) => view.counts[s] > 0)
    .map((s) => `${view.counts[s]} ${STATE_TEXT[s].replace(/\*/g, '')}`)
    .join(', ');
  return {
    header: [
      `### Strata live preview: ${code(view.ref)}${view.headCommit ? ` (${view.headCommit.slice(0, 12)})` : ''}`,
      '',
      `${view.total} clusters: ${counts}.${view.mergedAs ? ` Merged as ${view.mergedAs.slice(0, 12)}.` : ''}`,
      '',
      ...waveLines(view),
    ],
    table: {
      columns: ['Cluster', '+', '~', '−', 'Conflicts', 'Errors', 'Status'],
      align: ['left', 'right', 'right', 'right', 'right', 'right', 'left'],
      rows: view.clusters.map(tableRow),
    },
    sections: sections(view),
    fields: 'list',
    fullHint: `\`GET /api/v1/previews/${encodeURIComponent(view.ref)}\` on the hub has every plan.`,
  };
}

/** The fleet's live plans of one PR as Markdown for a PR comment; identical plans shown once. */
export function previewMarkdown(view: PreviewView): string {
  return renderPrComment(livePreviewComment(view));
}
