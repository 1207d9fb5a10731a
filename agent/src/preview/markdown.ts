import { cell, code } from '../../../contract/markdown.js';
import type { FieldChange } from '../plan/diff.js';
import { formatLocation } from '../render/errors.js';
import { groupChanges } from './group.js';
import type {
  ChangeGroup,
  ClusterPreview,
  ClusterPreviewStatus,
  FleetPreview,
  ObjectChange,
} from './types.js';

export interface MarkdownOptions {
  /** Largest output, in characters (a GitHub comment holds 65,536). */
  maxChars?: number;
  /** Field rows shown per changed object before an "N more fields" line. */
  maxFields?: number;
  /** Objects shown per group before an "N more objects" line. */
  maxObjects?: number;
  /** Longest value shown in a field row before it is cut with "…". */
  maxValueChars?: number;
}

const DEFAULTS: Required<MarkdownOptions> = {
  maxChars: 60_000,
  maxFields: 30,
  maxObjects: 50,
  maxValueChars: 100,
};

/** Room kept for the closing "N more" lines, so they always fit. */
const TRAILER_ROOM = 400;

const STATUS_TEXT: Record<ClusterPreviewStatus, string> = {
  failed: '**head fails to render**',
  fixed: 'changed (base did not render)',
  changed: 'changed',
  unchanged: 'unchanged',
};

const STATUS_ORDER: Record<ClusterPreviewStatus, number> = { failed: 0, fixed: 1, changed: 2, unchanged: 3 };

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function valueCell(value: unknown, redacted: boolean | undefined, max: number): string {
  if (redacted) return '_(secret, hidden)_';
  if (value === undefined) return '_(none)_';
  return code(cut(JSON.stringify(value), max)).replace(/\|/g, '\\|');
}

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
  ];
}

function tableRow(c: ClusterPreview): string {
  const n = (x: number) => (c.status === 'failed' ? '–' : String(x));
  return `| ${cell(c.cluster.name)} | ${n(c.counts.create)} | ${n(c.counts.update)} | ${n(c.counts.delete)} | ${STATUS_TEXT[c.status]} |`;
}

function fieldRows(changes: FieldChange[], opts: Required<MarkdownOptions>): string[] {
  const rows = ['| Field | Before | After |', '|---|---|---|'];
  for (const ch of changes.slice(0, opts.maxFields)) {
    const before = valueCell(ch.before, ch.redacted, opts.maxValueChars);
    const after = valueCell(ch.after, ch.redacted, opts.maxValueChars);
    rows.push(
      `| ${code(cut(ch.path || '(whole object)', 200)).replace(/\|/g, '\\|')} | ${before} | ${after} |`,
    );
  }
  if (changes.length > opts.maxFields)
    rows.push(`| _… ${plural(changes.length - opts.maxFields, 'more field')}_ | | |`);
  return rows;
}

const ACTION_TEXT = { create: '+ created', update: '~ changed', delete: '- deleted' } as const;

function objectLines(o: ObjectChange, opts: Required<MarkdownOptions>): string[] {
  const from =
    o.files.length > 0
      ? ` — ${o.action === 'delete' ? 'was in' : 'from'} ${o.files.map(code).join(', ')}`
      : '';
  const lines = [`**${ACTION_TEXT[o.action]}** ${code(o.id)}${from}`, ''];
  if (o.action === 'update') lines.push(...fieldRows(o.changes, opts), '');
  return lines;
}

function clusterList(names: string[], max = 12): string {
  const shown = names.slice(0, max).map(cell).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

function errorLines(g: ChangeGroup): string[] {
  return g.errors.map((e) => {
    const where = formatLocation(e);
    const what = [e.object ? `${e.object}:` : '', e.message].filter(Boolean).join(' ');
    return `- ${where ? `${code(where)}: ` : ''}${cell(what)}`;
  });
}

function groupSection(g: ChangeGroup, opts: Required<MarkdownOptions>): string[] {
  const title =
    g.status === 'failed'
      ? `head fails to render (${plural(g.errors.length, 'error')})`
      : countsText(g) + (g.status === 'fixed' ? ' (base did not render)' : '');
  const lines = ['<details>', `<summary><b>${clusterList(g.clusters)}</b>: ${title}</summary>`, ''];
  if (g.status === 'failed') lines.push(...errorLines(g), '');
  for (const o of g.objects.slice(0, opts.maxObjects)) lines.push(...objectLines(o, opts));
  if (g.objects.length > opts.maxObjects)
    lines.push(`_… ${plural(g.objects.length - opts.maxObjects, 'more object')}_`, '');
  lines.push('</details>', '');
  return lines;
}

/** Appends blocks while they fit the budget; says how many did not. */
class Budget {
  private used = 0;
  readonly lines: string[] = [];

  constructor(private readonly max: number) {}

  fits(block: string[]): boolean {
    const size = block.reduce((n, l) => n + l.length + 1, 0);
    if (this.used + size > this.max) return false;
    this.used += size;
    this.lines.push(...block);
    return true;
  }
}

/**
 * The preview as Markdown for a pull-request comment: a header, a summary table of every
 * cluster, then one collapsible section per group of clusters with identical changes. Output is
 * capped at `maxChars`, with "N more" lines naming what was left out. Deterministic.
 */
export function formatMarkdown(preview: FleetPreview, options: MarkdownOptions = {}): string {
  const opts = { ...DEFAULTS, ...options };
  const budget = new Budget(Math.max(0, opts.maxChars - TRAILER_ROOM));
  budget.fits(headerLines(preview));
  const rows = [...preview.clusters].sort(
    (a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || (a.cluster.name < b.cluster.name ? -1 : 1),
  );
  budget.fits(['| Cluster | + | ~ | − | Status |', '|---|--:|--:|--:|---|']);
  const rowsShown = rows.findIndex((r) => !budget.fits([tableRow(r)]));
  const trailer: string[] = [];
  if (rowsShown >= 0) trailer.push(`| _… ${plural(rows.length - rowsShown, 'more cluster')}_ | | | | |`);
  trailer.push('');
  budget.lines.push(...trailer);
  const groups = groupChanges(preview.clusters).filter((g) => g.status !== 'unchanged');
  const shown = groups.findIndex((g) => !budget.fits(groupSection(g, opts)));
  if (shown >= 0) {
    const left = groups.slice(shown);
    const clusters = left.reduce((n, g) => n + g.clusters.length, 0);
    budget.lines.push(
      `**… ${plural(left.length, 'more section')} (${plural(clusters, 'cluster')}) not shown: the comment size limit was reached.** ` +
        'Run `strata preview --format json` for the full preview.',
      '',
    );
  }
  if (groups.length === 0) budget.lines.push('No cluster changes.', '');
  return `${budget.lines.join('\n').trimEnd()}\n`;
}
