import type { FieldChange } from './diff.js';
import { countActions, type Plan, type PlanEntry } from './types.js';

/** ANSI styling that collapses to plain text when colour is off. */
export interface Palette {
  green(s: string): string;
  yellow(s: string): string;
  red(s: string): string;
  magenta(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

const ansi = (code: number) => (s: string) => `\u001b[${code}m${s}\u001b[0m`;
const plain = (s: string) => s;

/** ANSI colours, or plain text when colour is off. */
export function palette(colour: boolean): Palette {
  if (!colour) return { green: plain, yellow: plain, red: plain, magenta: plain, dim: plain, bold: plain };
  return { green: ansi(32), yellow: ansi(33), red: ansi(31), magenta: ansi(35), dim: ansi(2), bold: ansi(1) };
}

/** Colour when writing to a terminal, unless NO_COLOR is set; FORCE_COLOR forces it. */
export function wantsColour(stream: { isTTY?: boolean }, env: Record<string, string | undefined>): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true;
}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function formatChange(c: FieldChange, p: Palette): string {
  if (c.redacted)
    return `${c.path}: ${p.dim(`(secret value ${c.op === 'add' ? 'added' : c.op === 'remove' ? 'removed' : 'changed'})`)}`;
  if (c.op === 'add') return `${c.path}: ${p.green(show(c.after))}`;
  if (c.op === 'remove') return `${c.path}: ${p.red(show(c.before))} ${p.dim('(removed)')}`;
  return `${c.path}: ${p.red(show(c.before))} → ${p.green(show(c.after))}`;
}

const MARK: Record<PlanEntry['action'], [string, keyof Palette]> = {
  create: ['+ create   ', 'green'],
  update: ['~ update   ', 'yellow'],
  replace: ['± replace  ', 'yellow'],
  conflict: ['! conflict ', 'magenta'],
  delete: ['- delete   ', 'red'],
  error: ['x error    ', 'red'],
  unchanged: ['  unchanged', 'dim'],
};

function entryLines(e: PlanEntry, p: Palette): string[] {
  const [mark, colour] = MARK[e.action];
  const notes: string[] = [];
  if (e.drift) notes.push('drift: changed in the cluster since Strata applied it');
  if (e.awaitsCrd) notes.push(`after its CRD ${e.awaitsCrd} is established`);
  if (e.awaitsNamespace) notes.push(`after namespace ${e.awaitsNamespace} is created`);
  if (e.kept) notes.push('kept (strata.dev/prune: "false"); leaves the ApplySet');
  const head = `  ${p[colour](mark)} ${e.id}${notes.length ? `  ${p.dim(`(${notes.join('; ')})`)}` : ''}`;
  const lines = [head];
  for (const c of e.changes) lines.push(`        ${formatChange(c, p)}`);
  for (const c of e.conflicts ?? [])
    lines.push(`        ${p.magenta(`${c.field || '(fields)'} owned by "${c.manager}"`)}`);
  if (e.error) lines.push(`        ${p.red(`${e.error.reason}: ${e.error.message}`)}`);
  return lines;
}

/** One line counting a plan's actions, e.g. `2 to create, 1 to update`. */
export function summaryLine(plan: Plan): string {
  const n = countActions(plan.entries);
  const parts = [
    `${n.create} to create`,
    `${n.update + n.conflict} to update`,
    ...(n.replace ? [`${n.replace} to replace`] : []),
    `${plan.entries.filter((e) => e.action === 'delete' && !e.kept).length} to delete`,
    `${n.unchanged} unchanged`,
    ...(n.conflict ? [`${n.conflict} with conflicts`] : []),
    ...(n.error ? [`${n.error} with errors`] : []),
  ];
  return `Plan: ${parts.join(', ')}.`;
}

/** A readable plan: changed objects with field-level diffs, unchanged ones counted, then a summary. */
export function formatPlan(title: string, plan: Plan, p: Palette): string {
  const order: PlanEntry['action'][] = ['error', 'conflict', 'create', 'update', 'replace', 'delete'];
  const lines = [p.bold(title)];
  for (const action of order) {
    for (const e of plan.entries.filter((x) => x.action === action)) lines.push(...entryLines(e, p));
  }
  const unchanged = plan.entries.filter((e) => e.action === 'unchanged').length;
  if (unchanged) lines.push(`  ${p.dim(`${unchanged} object(s) unchanged`)}`);
  if (plan.pruneRefused) lines.push(`  ${p.red(`prune refused: ${plan.pruneRefused}`)}`);
  lines.push(summaryLine(plan));
  return `${lines.join('\n')}\n`;
}

/** Whether applying this plan would change the cluster. */
export function hasChanges(plan: Plan): boolean {
  return plan.entries.some((e) => e.action !== 'unchanged' && e.action !== 'error');
}
