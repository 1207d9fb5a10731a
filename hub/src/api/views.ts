/** The read models shared by the JSON API and the dashboard: what a person or a script sees. */

import {
  type LabelSelector,
  matchesSelector,
  parseSelector,
  SelectorSyntaxError,
} from '../../../agent/src/model/selector.js';
import type { Report } from '../../../agent/src/report/schema.js';
import {
  countBy,
  ROLLOUT_STATES,
  type RolloutCluster,
  type RolloutState,
  rolloutOf,
} from '../fleet/rollout.js';
import { CLUSTER_PHASES, type ClusterPhase, type ReportSummary } from '../fleet/summary.js';
import type { ClusterRecord, HistoryEntry } from '../store/store.js';
import { HttpError } from './http.js';
import type { Hub } from './router.js';

export interface ClusterView {
  name: string;
  labels: Record<string, string>;
  /** ISO time of the last report; null when the cluster has a token but never reported. */
  lastSeen: string | null;
  lastSeenAgeSeconds: number | null;
  stale: boolean;
  seq: number | null;
  commit: string | null;
  phase: ClusterPhase;
  health: ReportSummary['health'];
  sourceUnavailable: boolean;
  errors: number;
  drift: number;
  sources: ReportSummary['sources'];
}

export interface FleetView {
  generatedAt: string;
  staleAfterSeconds: number;
  selector: string;
  phase: ClusterPhase | null;
  /** Clusters matching the selector, by phase (before the phase filter). */
  counts: Record<ClusterPhase, number>;
  stale: number;
  total: number;
  clusters: ClusterView[];
}

export interface RolloutView {
  commit: string;
  selector: string;
  total: number;
  counts: Record<RolloutState, number>;
  clusters: (RolloutCluster & { lastSeen: string | null; stale: boolean })[];
}

export interface FleetFilter {
  selector?: string | null;
  phase?: string | null;
}

export function selectorOf(text: string | null | undefined): LabelSelector {
  const selector = text ?? '';
  try {
    return parseSelector(selector);
  } catch (err) {
    if (!(err instanceof SelectorSyntaxError)) throw err;
    const at = err.position === undefined ? '' : ` at character ${err.position + 1}`;
    throw new HttpError(400, `invalid label selector "${selector}"${at}: ${err.message}`, { selector });
  }
}

function phaseOf(text: string | null | undefined): ClusterPhase | null {
  if (!text) return null;
  if (!(CLUSTER_PHASES as string[]).includes(text)) {
    throw new HttpError(400, `unknown phase "${text}": expected one of ${CLUSTER_PHASES.join(', ')}`);
  }
  return text as ClusterPhase;
}

export function clusterView(hub: Hub, record: ClusterRecord): ClusterView {
  const age = Math.max(0, hub.now() - record.receivedAt);
  return {
    name: record.name,
    labels: record.labels,
    lastSeen: new Date(record.receivedAt).toISOString(),
    lastSeenAgeSeconds: Math.floor(age / 1000),
    stale: age > hub.settings.staleAfterMs,
    seq: record.seq,
    commit: record.summary.commit,
    phase: record.summary.phase,
    health: record.summary.health,
    sourceUnavailable: record.summary.sourceUnavailable,
    errors: record.summary.errors,
    drift: record.summary.drift,
    sources: record.summary.sources,
  };
}

function silentView(name: string): ClusterView {
  return {
    name,
    labels: {},
    lastSeen: null,
    lastSeenAgeSeconds: null,
    stale: true,
    seq: null,
    commit: null,
    phase: 'Unknown',
    health: 'Unknown',
    sourceUnavailable: false,
    errors: 0,
    drift: 0,
    sources: [],
  };
}

export async function fleetView(hub: Hub, filter: FleetFilter): Promise<FleetView> {
  const selector = selectorOf(filter.selector);
  const phase = phaseOf(filter.phase);
  const records = await hub.store.listClusters();
  const reported = new Set(records.map((r) => r.name));
  const silent = (await hub.store.knownClusterNames()).filter((n) => !reported.has(n));
  const all = [...records.map((r) => clusterView(hub, r)), ...silent.map(silentView)]
    .filter((c) => matchesSelector(selector, c.labels))
    .sort((a, b) => a.name.localeCompare(b.name));
  return {
    generatedAt: new Date(hub.now()).toISOString(),
    staleAfterSeconds: Math.round(hub.settings.staleAfterMs / 1000),
    selector: filter.selector ?? '',
    phase,
    counts: countBy(
      CLUSTER_PHASES,
      all.map((c) => c.phase),
    ),
    stale: all.filter((c) => c.stale).length,
    total: all.length,
    clusters: phase ? all.filter((c) => c.phase === phase) : all,
  };
}

export async function clusterDetail(
  hub: Hub,
  name: string,
): Promise<{ cluster: ClusterView; report: Report } | undefined> {
  const found = await hub.store.getCluster(name);
  return found && { cluster: clusterView(hub, found.record), report: found.report };
}

export async function clusterHistory(hub: Hub, name: string, limit: number): Promise<HistoryEntry[]> {
  return hub.store.history(name, limit);
}

export function commitOf(text: string): string {
  if (!/^[0-9a-f]{7,64}$/i.test(text)) {
    throw new HttpError(400, `"${text}" is not a commit sha: expected 7 to 64 hexadecimal characters`);
  }
  return text.toLowerCase();
}

export async function rolloutView(hub: Hub, sha: string, selectorText: string | null): Promise<RolloutView> {
  const selector = selectorOf(selectorText);
  const all = await hub.store.listClusters();
  const records = all.filter((r) => matchesSelector(selector, r.labels));
  const reported = new Set(all.map((r) => r.name));
  const silent = selector.length ? [] : (await hub.store.knownClusterNames()).filter((n) => !reported.has(n));
  const rows = rolloutOf(sha, records, silent).map((c) => {
    const age = c.receivedAt === null ? null : hub.now() - c.receivedAt;
    return {
      ...c,
      lastSeen: c.receivedAt === null ? null : new Date(c.receivedAt).toISOString(),
      stale: age === null || age > hub.settings.staleAfterMs,
    };
  });
  return {
    commit: sha,
    selector: selectorText ?? '',
    total: rows.length,
    counts: countBy(
      ROLLOUT_STATES,
      rows.map((r) => r.state),
    ),
    clusters: rows,
  };
}
