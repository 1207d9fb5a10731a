/**
 * Pull requests as deployments, at the hub (DESIGN.md §4): every cluster's live dry-run plan of one
 * PR ref, which clusters have not reported it, and which planned an older commit than the PR's head.
 *
 *   GET /api/v1/previews[?state=open|closed|all]   one line per ref (default: open refs)
 *   GET /api/v1/previews/{ref}                     the fleet's plans for one ref (ref URL-encoded)
 *   GET /api/v1/previews/{ref}/markdown            the same as a PR comment
 */
import { cell, code } from '../../../agent/src/preview/markdown.js';
import type { PreviewPlanEntry, ReportError } from '../../../agent/src/report/schema.js';
import type { PreviewRecord } from '../store/store.js';
import { HttpError, json, type Reply } from './http.js';
import type { Hub, RequestContext, Route } from './router.js';

export const previewRoutes: Route[] = [
  { method: 'GET', path: '/api/v1/previews', access: 'read', handle: listPreviews },
  { method: 'GET', path: '/api/v1/previews/:ref', access: 'read', handle: getPreview },
  { method: 'GET', path: '/api/v1/previews/:ref/markdown', access: 'read', handle: getMarkdown },
];

/**
 * - `planned`: planned the PR's head commit.
 * - `failed`: the head did not render or could not be planned there.
 * - `stale`: its latest plan is of an older commit than the PR's head.
 * - `notReported`: no plan of this ref from that cluster yet (an offline agent, for one).
 * - `closed`: the agent saw the ref disappear.
 */
export type PreviewClusterState = 'planned' | 'failed' | 'stale' | 'notReported' | 'closed';
export const PREVIEW_CLUSTER_STATES: PreviewClusterState[] = [
  'failed',
  'stale',
  'notReported',
  'planned',
  'closed',
];

export interface PreviewClusterView {
  name: string;
  labels: Record<string, string>;
  state: PreviewClusterState;
  commit: string | null;
  plannedAt: string | null;
  receivedAt: string | null;
  /** Plan entries by action (`create`, `update`, `delete`, `conflict`, `error`, `unchanged`, …). */
  counts: Record<string, number>;
  /** Every entry that is not `unchanged`, as the agent reported it (Secret values already masked). */
  entries: PreviewPlanEntry[];
  error: ReportError | null;
  renderErrors: unknown[];
}

export interface PreviewView {
  ref: string;
  state: 'open' | 'closed';
  /** The newest commit any cluster planned for this ref: the PR's head as far as the hub knows. */
  headCommit: string | null;
  /** For a merged PR: the commit it was merged as, whose rollout shows the deployment. */
  mergedAs: string | null;
  total: number;
  counts: Record<PreviewClusterState, number>;
  clusters: PreviewClusterView[];
}

export type PreviewSummary = Omit<PreviewView, 'clusters'> & { changes: Record<string, number> };

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const timeOf = (r: PreviewRecord) => Date.parse(r.preview.plannedAt ?? '') || r.receivedAt;

function headOf(records: PreviewRecord[]): {
  state: 'open' | 'closed';
  headCommit: string | null;
  mergedAs: string | null;
} {
  const latest = [...records].sort((a, b) => b.receivedAt - a.receivedAt)[0];
  const open = records.filter((r) => r.preview.state === 'open').sort((a, b) => timeOf(b) - timeOf(a));
  const head = open[0] ?? latest;
  const merged = records.map((r) => str(r.preview.mergedAs)).find((m) => m !== null) ?? null;
  return {
    state: latest?.preview.state === 'closed' ? 'closed' : 'open',
    headCommit: head?.preview.commit ?? null,
    mergedAs: merged,
  };
}

function countEntries(entries: readonly PreviewPlanEntry[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of entries) counts[e.action] = (counts[e.action] ?? 0) + 1;
  return counts;
}

function clusterState(r: PreviewRecord, headCommit: string | null): PreviewClusterState {
  if (r.preview.state === 'closed') return 'closed';
  if (r.preview.commit !== headCommit) return 'stale';
  return r.preview.error ? 'failed' : 'planned';
}

function planned(
  r: PreviewRecord,
  labels: Record<string, string>,
  headCommit: string | null,
): PreviewClusterView {
  const entries = r.preview.plan?.entries ?? [];
  const renderErrors = r.preview.plan?.renderErrors;
  return {
    name: r.cluster,
    labels,
    state: clusterState(r, headCommit),
    commit: r.preview.commit,
    plannedAt: r.preview.plannedAt ?? null,
    receivedAt: new Date(r.receivedAt).toISOString(),
    counts: countEntries(entries),
    entries: entries.filter((e) => e.action !== 'unchanged'),
    error: r.preview.error ?? null,
    renderErrors: Array.isArray(renderErrors) ? renderErrors : [],
  };
}

function silent(name: string, labels: Record<string, string>): PreviewClusterView {
  return {
    name,
    labels,
    state: 'notReported',
    commit: null,
    plannedAt: null,
    receivedAt: null,
    counts: {},
    entries: [],
    error: null,
    renderErrors: [],
  };
}

function zeroCounts(): Record<PreviewClusterState, number> {
  return { planned: 0, failed: 0, stale: 0, notReported: 0, closed: 0 };
}

/** Every known cluster's standing for one ref; undefined when no cluster ever reported the ref. */
export async function previewView(hub: Hub, ref: string): Promise<PreviewView | undefined> {
  const records = await hub.store.listPreviews({ ref });
  if (records.length === 0) return undefined;
  const head = headOf(records);
  const known = await hub.store.listClusters();
  const labels = new Map(known.map((c) => [c.name, c.labels]));
  const names = new Set([...known.map((c) => c.name), ...(await hub.store.knownClusterNames())]);
  const byCluster = new Map(records.map((r) => [r.cluster, r]));
  const clusters = [...new Set([...names, ...byCluster.keys()])].sort().map((name) => {
    const r = byCluster.get(name);
    return r ? planned(r, labels.get(name) ?? {}, head.headCommit) : silent(name, labels.get(name) ?? {});
  });
  const counts = zeroCounts();
  for (const c of clusters) counts[c.state]++;
  return { ref, ...head, total: clusters.length, counts, clusters };
}

function summaryOf(view: PreviewView): PreviewSummary {
  const changes: Record<string, number> = {};
  for (const c of view.clusters) {
    if (c.state !== 'planned') continue;
    for (const [action, n] of Object.entries(c.counts))
      if (action !== 'unchanged') changes[action] = (changes[action] ?? 0) + n;
  }
  const { clusters: _clusters, ...rest } = view;
  return { ...rest, changes };
}

export async function previewSummaries(
  hub: Hub,
  state: 'open' | 'closed' | 'all',
): Promise<PreviewSummary[]> {
  const refs = [...new Set((await hub.store.listPreviews()).map((r) => r.ref))].sort();
  const out: PreviewSummary[] = [];
  for (const ref of refs) {
    const view = await previewView(hub, ref);
    if (view && (state === 'all' || view.state === state)) out.push(summaryOf(view));
  }
  return out;
}

function stateOf(text: string | null): 'open' | 'closed' | 'all' {
  if (text === null) return 'open';
  if (text === 'open' || text === 'closed' || text === 'all') return text;
  throw new HttpError(400, `state must be open, closed or all, got "${text}"`);
}

export function refOf(text: string): string {
  if (text.length > 1024 || !/^refs\/[^\s\0]+$/.test(text)) {
    throw new HttpError(
      400,
      `"${text.slice(0, 100)}" is not a ref: expected refs/…, URL-encoded (refs%2Fpull%2F7%2Fhead)`,
    );
  }
  return text;
}

async function listPreviews({ hub, url }: RequestContext): Promise<Reply> {
  return json(200, { previews: await previewSummaries(hub, stateOf(url.searchParams.get('state'))) });
}

async function viewOr404(hub: Hub, text: string): Promise<PreviewView> {
  const ref = refOf(text);
  const view = await previewView(hub, ref);
  if (!view) throw new HttpError(404, `no cluster has reported a preview of "${ref}"`);
  return view;
}

async function getPreview({ hub, params }: RequestContext): Promise<Reply> {
  return json(200, await viewOr404(hub, params.ref!));
}

async function getMarkdown({ hub, params }: RequestContext): Promise<Reply> {
  return {
    status: 200,
    headers: { 'content-type': 'text/markdown; charset=utf-8' },
    body: previewMarkdown(await viewOr404(hub, params.ref!)),
  };
}

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
