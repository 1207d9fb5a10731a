/**
 * The hub's read model of pull-request previews: every cluster's latest live dry-run plan of one
 * ref, which clusters have not reported it, and which planned an older commit than the PR's head.
 */
import type {
  PreviewClusterState,
  PreviewClusterView,
  PreviewSummary,
  PreviewView,
} from '../../../contract/live-preview.js';
import type { PreviewPlanEntry } from '../../../contract/report.js';
import type { PreviewRecord } from '../store/store.js';
import type { Hub } from './router.js';

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
    wave: r.preview.wave ?? null,
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
    wave: null,
  };
}

function zeroCounts(): Record<PreviewClusterState, number> {
  return { planned: 0, failed: 0, stale: 0, notReported: 0, closed: 0 };
}

/**
 * Clusters without a plan of the ref listed in a preview: the first by name, so a preview never reads
 * the whole fleet (its counts, `notReported` included, are of every cluster).
 */
export const SILENT_SHOWN = 100;

/**
 * The fleet's standing for one ref: every cluster that planned it and the first SILENT_SHOWN that did
 * not, counts over every cluster; undefined when no cluster ever reported the ref.
 */
export async function previewView(hub: Hub, ref: string): Promise<PreviewView | undefined> {
  const records = await hub.store.listPreviews({ ref });
  if (records.length === 0) return undefined;
  const head = headOf(records);
  const fleet = await hub.store.previewFleet(ref, SILENT_SHOWN);
  const clusters = [
    ...records.map((r) => planned(r, fleet.labels[r.cluster] ?? {}, head.headCommit)),
    ...fleet.silent.map((c) => silent(c.name, c.labels)),
  ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const counts = zeroCounts();
  for (const c of clusters) if (c.state !== 'notReported') counts[c.state]++;
  const total = Math.max(fleet.total, records.length);
  counts.notReported = total - records.length;
  return { ref, ...head, total, counts, clusters };
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

/** One line per previewed ref (open, closed or all), with the fleet's change counts. */
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
