/**
 * The one PR-comment renderer, for `strata preview` (two commits, offline) and the hub's live
 * preview (the fleet's dry-run plans of a ref) alike. Each caller maps its own view to a
 * `PrComment`; this file lays it out under one set of limits (`limits.ts`): a header, a summary
 * table of every cluster, then one collapsible section per group of clusters with identical
 * changes, with "N more" lines naming whatever a limit left out. Deterministic.
 */
import {
  COMMENT_LIMITS,
  COMMENT_MAX_PATH_CHARS,
  COMMENT_MAX_SECTION_NAMES,
  COMMENT_TRAILER_CHARS,
  type CommentLimits,
} from './limits.js';
import { cell, code } from './markdown.js';

/** One field of a changed object; a redacted one shows neither value. */
export interface CommentFieldChange {
  path: string;
  before?: unknown;
  after?: unknown;
  redacted?: boolean;
}

/** One changed object of a section. */
export interface CommentObject {
  /** The object's first line, Markdown (already escaped by the caller). */
  heading: string;
  /** Its field changes; absent when the action has none to show (a create, a delete). */
  changes?: CommentFieldChange[];
  /** Changes the producer left out before they reached the comment (counted in "N more fields"). */
  moreChanges?: number;
  /** Lines after the changes (conflicts, errors), Markdown. */
  notes?: string[];
}

/** Clusters with identical changes, shown once. */
export interface CommentSection {
  clusters: string[];
  /** What happens to them, after their names in the section's summary line (Markdown). */
  title: string;
  /** Lines before the objects (render errors, a location), Markdown, ending with a blank line. */
  lines: string[];
  objects: CommentObject[];
}

/** A PR comment before layout. */
export interface PrComment {
  /** Heading and summary lines, Markdown. */
  header: string[];
  /** The summary table: column titles (the first is the cluster's), alignments, one row a cluster. */
  table: { columns: string[]; align: ('left' | 'right')[]; rows: string[][] };
  sections: CommentSection[];
  /** Field changes as a table of before and after (offline preview) or as a list (live preview). */
  fields: 'table' | 'list';
  /** Shown when there is no section at all. */
  empty?: string;
  /** Where the reader finds everything, appended to the "not shown" line. */
  fullHint?: string;
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Appends blocks while they fit the budget. */
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

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function valueText(value: unknown, redacted: boolean | undefined, max: number): string {
  if (redacted) return '_(secret, hidden)_';
  if (value === undefined) return '_(none)_';
  return code(cut(JSON.stringify(value) ?? String(value), max));
}

function fieldLines(
  o: CommentObject,
  layout: PrComment['fields'],
  limits: Required<CommentLimits>,
): string[] {
  const changes = o.changes ?? [];
  const more = Math.max(0, changes.length - limits.maxFields) + (o.moreChanges ?? 0);
  // Inside a table a pipe ends the cell, even in a code span.
  const inCell = (s: string) => (layout === 'table' ? s.replace(/\|/g, '\\|') : s);
  const path = (p: string) => inCell(code(cut(p || '(whole object)', COMMENT_MAX_PATH_CHARS)));
  const value = (v: unknown, redacted?: boolean) => inCell(valueText(v, redacted, limits.maxValueChars));
  const shown = changes.slice(0, limits.maxFields);
  if (layout === 'list') {
    const lines = shown.map(
      (ch) => `- ${path(ch.path)}: ${value(ch.before, ch.redacted)} → ${value(ch.after, ch.redacted)}`,
    );
    if (more > 0) lines.push(`- _… ${plural(more, 'more field')}_`);
    return lines;
  }
  const lines = ['| Field | Before | After |', '|---|---|---|'];
  for (const ch of shown)
    lines.push(row([path(ch.path), value(ch.before, ch.redacted), value(ch.after, ch.redacted)]));
  if (more > 0) lines.push(`| _… ${plural(more, 'more field')}_ | | |`);
  return lines;
}

function objectLines(
  o: CommentObject,
  layout: PrComment['fields'],
  limits: Required<CommentLimits>,
): string[] {
  if (layout === 'list')
    return [o.heading, ...(o.changes ? fieldLines(o, layout, limits) : []), ...(o.notes ?? []), ''];
  const lines = [o.heading, ''];
  if (o.changes) lines.push(...fieldLines(o, layout, limits), '');
  if (o.notes?.length) lines.push(...o.notes, '');
  return lines;
}

function clusterList(names: string[]): string {
  const max = COMMENT_MAX_SECTION_NAMES;
  const shown = names.slice(0, max).map(cell).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

function sectionLines(
  s: CommentSection,
  layout: PrComment['fields'],
  limits: Required<CommentLimits>,
): string[] {
  const lines = ['<details>', `<summary><b>${clusterList(s.clusters)}</b>: ${s.title}</summary>`, ''];
  lines.push(...s.lines);
  for (const o of s.objects.slice(0, limits.maxObjects)) lines.push(...objectLines(o, layout, limits));
  if (s.objects.length > limits.maxObjects)
    lines.push(`_… ${plural(s.objects.length - limits.maxObjects, 'more object')}_`, '');
  lines.push('</details>', '');
  return lines;
}

/** The comment as Markdown, at most `limits.maxChars` characters. */
export function renderPrComment(comment: PrComment, options: Partial<CommentLimits> = {}): string {
  const limits = { ...COMMENT_LIMITS, ...options };
  const budget = new Budget(Math.max(0, limits.maxChars - COMMENT_TRAILER_CHARS));
  budget.fits(comment.header);
  const { columns, align, rows } = comment.table;
  budget.fits([row(columns), `|${align.map((a) => (a === 'right' ? '--:' : '---')).join('|')}|`]);
  const rowsShown = rows.findIndex((r) => !budget.fits([row(r)]));
  if (rowsShown >= 0)
    budget.lines.push(
      `| _… ${plural(rows.length - rowsShown, 'more cluster')}_ |${' |'.repeat(columns.length - 1)}`,
    );
  budget.lines.push('');
  const sections = comment.sections;
  const shown = sections.findIndex((s) => !budget.fits(sectionLines(s, comment.fields, limits)));
  if (shown >= 0) {
    const left = sections.slice(shown);
    const clusters = left.reduce((n, s) => n + s.clusters.length, 0);
    budget.lines.push(
      `**… ${plural(left.length, 'more section')} (${plural(clusters, 'cluster')}) not shown: the comment size limit was reached.**` +
        (comment.fullHint ? ` ${comment.fullHint}` : ''),
      '',
    );
  }
  if (sections.length === 0 && comment.empty) budget.lines.push(comment.empty, '');
  return `${budget.lines.join('\n').trimEnd()}\n`;
}
