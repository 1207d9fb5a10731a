/**
 * The offline preview (`strata preview`) as a PR comment: this file maps a `FleetPreview` to the
 * shared renderer's `PrComment` (contract/pr-comment.ts), which lays it out under the one set of
 * comment limits the hub's live preview uses too.
 */
import type { CommentLimits } from '../../../contract/limits.js';
import { cell, code } from '../../../contract/markdown.js';
import {
  type CommentObject,
  type CommentSection,
  type PrComment,
  renderPrComment,
} from '../../../contract/pr-comment.js';
import { formatLocation } from '../render/errors.js';
import { groupChanges } from './group.js';
import { rolloutLines } from './rollout.js';
import type {
  ChangeGroup,
  ClusterPreview,
  ClusterPreviewStatus,
  FleetPreview,
  ObjectChange,
} from './types.js';

/** Limits of one Markdown preview; each defaults to the shared comment limit. */
export type MarkdownOptions = Partial<CommentLimits>;

const STATUS_TEXT: Record<ClusterPreviewStatus, string> = {
  failed: '**head fails to render**',
  fixed: 'changed (base did not render)',
  changed: 'changed',
  unchanged: 'unchanged',
};

const STATUS_ORDER: Record<ClusterPreviewStatus, number> = { failed: 0, fixed: 1, changed: 2, unchanged: 3 };

const ACTION_TEXT = { create: '+ created', update: '~ changed', delete: '- deleted' } as const;

function shortCommit(side: { ref: string; commit?: string }): string {
  return side.commit && side.commit !== side.ref
    ? `${code(side.ref)} (${side.commit.slice(0, 12)})`
    : code(side.ref);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function countsText(g: { counts: { create: number; update: number; delete: number } }): string {
  return `${g.counts.create} created, ${g.counts.update} changed, ${g.counts.delete} deleted`;
}

function headerLines(preview: FleetPreview): string[] {
  const by = (s: ClusterPreviewStatus) => preview.clusters.filter((c) => c.status === s).length;
  const parts = [`${by('changed') + by('fixed')} changed`, `${by('unchanged')} unchanged`];
  if (by('failed') > 0) parts.push(`**${by('failed')} failed to render**`);
  return [
    '### Strata preview',
    '',
    `${shortCommit(preview.base)} → ${shortCommit(preview.head)}: ${plural(preview.clusters.length, 'cluster')}, ${parts.join(', ')}.`,
    '',
    ...(preview.rollout ? rolloutLines(preview.rollout) : []),
  ];
}

function tableRow(c: ClusterPreview): string[] {
  const n = (x: number) => (c.status === 'failed' ? '–' : String(x));
  return [
    cell(c.cluster.name),
    n(c.counts.create),
    n(c.counts.update),
    n(c.counts.delete),
    STATUS_TEXT[c.status],
  ];
}

function commentObject(o: ObjectChange): CommentObject {
  const from =
    o.files.length > 0
      ? ` — ${o.action === 'delete' ? 'was in' : 'from'} ${o.files.map(code).join(', ')}`
      : '';
  const heading = `**${ACTION_TEXT[o.action]}** ${code(o.id)}${from}`;
  return o.action === 'update' ? { heading, changes: o.changes } : { heading };
}

function errorLines(g: ChangeGroup): string[] {
  return g.errors.map((e) => {
    const where = formatLocation(e);
    const what = [e.object ? `${e.object}:` : '', e.message].filter(Boolean).join(' ');
    return `- ${where ? `${code(where)}: ` : ''}${cell(what)}`;
  });
}

function commentSection(g: ChangeGroup): CommentSection {
  const title =
    g.status === 'failed'
      ? `head fails to render (${plural(g.errors.length, 'error')})`
      : countsText(g) + (g.status === 'fixed' ? ' (base did not render)' : '');
  return {
    clusters: g.clusters,
    title,
    lines: g.status === 'failed' ? [...errorLines(g), ''] : [],
    objects: g.objects.map(commentObject),
  };
}

/** The offline preview as the shared renderer's input: clusters that fail first, then by name. */
export function previewComment(preview: FleetPreview): PrComment {
  const rows = [...preview.clusters].sort(
    (a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || (a.cluster.name < b.cluster.name ? -1 : 1),
  );
  return {
    header: headerLines(preview),
    table: {
      columns: ['Cluster', '+', '~', '−', 'Status'],
      align: ['left', 'right', 'right', 'right', 'left'],
      rows: rows.map(tableRow),
    },
    sections: groupChanges(preview.clusters)
      .filter((g) => g.status !== 'unchanged')
      .map(commentSection),
    fields: 'table',
    empty: 'No cluster changes.',
    fullHint: 'Run `strata preview --format json` for the full preview.',
  };
}

/**
 * The preview as Markdown for a pull-request comment: a header, a summary table of every
 * cluster, then one collapsible section per group of clusters with identical changes. Output is
 * capped at `maxChars`, with "N more" lines naming what was left out. Deterministic.
 */
export function formatMarkdown(preview: FleetPreview, options: MarkdownOptions = {}): string {
  return renderPrComment(previewComment(preview), options);
}
