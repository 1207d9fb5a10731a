/** The read models shared by the JSON API and the dashboard: what a person or a script sees. */

import type { Report } from '../../../contract/report.js';
import { type LabelSelector, parseSelector, SelectorSyntaxError } from '../../../contract/selector.js';
import { ROLLOUT_STATES, type RolloutCluster, type RolloutState } from '../fleet/rollout.js';
import {
  CLUSTER_PHASES,
  type ClusterHealth,
  type ClusterPhase,
  type ReportSummary,
} from '../fleet/summary.js';
import {
  AmbiguousCommitError,
  type ClusterRecord,
  type FleetEntry,
  type HistoryEntry,
  type RolloutCounts,
} from '../store/store.js';
import { HttpError } from './http.js';
import { continueToken, pageLimitOf, positionOf } from './page.js';
import type { Hub } from './router.js';

/** One cluster as the API and dashboard show it: latest summary, age and staleness. */
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

/** A page of the fleet: clusters, counts by phase and health, and the token for the next page. */
export interface FleetView {
  generatedAt: string;
  staleAfterSeconds: number;
  selector: string;
  /** The name prefix searched for ('' for none). */
  prefix: string;
  phase: ClusterPhase | null;
  /** Clusters matching the selector and prefix, by phase (before the phase filter). */
  counts: Record<ClusterPhase, number>;
  health: Record<ClusterHealth, number>;
  /** The commits most matching clusters run, most first (at most 10). */
  commits: { commit: string; clusters: number }[];
  stale: number;
  total: number;
  /** One page of the matching clusters (phase filter applied), in name order. */
  clusters: ClusterView[];
  limit: number;
  /** Pass as `continue` for the next page; null on the last one. */
  continue: string | null;
}

/** One commit's progress across the fleet: each cluster's state and the counts. */
export interface RolloutView {
  commit: string;
  /** The full sha the requested one abbreviates, once some cluster reported it. */
  resolved: string | null;
  selector: string;
  state: RolloutState | null;
  total: number;
  counts: Record<RolloutState, number>;
  clusters: (RolloutCluster & { lastSeen: string | null; stale: boolean })[];
  limit: number;
  continue: string | null;
}

/** The fleet list's query: selector, phase, name prefix and paging, as the URL gives them. */
export interface FleetFilter {
  selector?: string | null;
  phase?: string | null;
  prefix?: string | null;
  limit?: string | null;
  continue?: string | null;
}

/** A label selector from a query parameter; a 400 naming the position of a syntax error. */
export function selectorOf(text: string | null | undefined): LabelSelector {
  const selector = text ?? '';
  try {
    return parseSelector(selector);
  } catch (err) {
    if (!(err instanceof SelectorSyntaxError)) throw err;
    const at = err.position === undefined ? '' : ` at character ${err.position + 1}`;
    throw new HttpError(
      400,
      `invalid label selector "${selector}"${at}: ${err.message}`,
      { selector },
      { cause: err },
    );
  }
}

function phaseOf(text: string | null | undefined): ClusterPhase | null {
  if (!text) return null;
  if (!(CLUSTER_PHASES as string[]).includes(text)) {
    throw new HttpError(400, `unknown phase "${text}": expected one of ${CLUSTER_PHASES.join(', ')}`);
  }
  return text as ClusterPhase;
}

function prefixOf(text: string | null | undefined): string {
  const prefix = (text ?? '').trim().toLowerCase();
  if (prefix !== '' && !/^[a-z0-9][-a-z0-9.]*$/.test(prefix)) {
    throw new HttpError(
      400,
      `"${text}" cannot start a cluster name: use lowercase letters, digits, "-" and "."`,
    );
  }
  return prefix;
}

/** A stored cluster as its view, stale when its last report is older than the setting. */
export function clusterView(hub: Hub, record: ClusterRecord | FleetEntry): ClusterView {
  if (record.seq === null || record.receivedAt === null || record.summary === null) {
    return silentView(record.name);
  }
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

/** Counts and one page: the database does the filtering, so the cost is that of one page. */
export async function fleetView(hub: Hub, filter: FleetFilter): Promise<FleetView> {
  const selector = selectorOf(filter.selector);
  const phase = phaseOf(filter.phase);
  const prefix = prefixOf(filter.prefix);
  const limit = pageLimitOf(filter.limit ?? null);
  const after = positionOf('clusters', filter.continue ?? null);
  const query = { selector, ...(prefix ? { namePrefix: prefix } : {}), ...(phase ? { phase } : {}) };
  const [counts, page] = await Promise.all([
    hub.store.countFleet(query, hub.now() - hub.settings.staleAfterMs),
    hub.store.listFleet(query, { limit, ...(after === undefined ? {} : { after: String(after) }) }),
  ]);
  return {
    generatedAt: new Date(hub.now()).toISOString(),
    staleAfterSeconds: Math.round(hub.settings.staleAfterMs / 1000),
    selector: filter.selector ?? '',
    prefix,
    phase,
    counts: counts.phases,
    health: counts.health,
    commits: counts.commits,
    stale: counts.stale,
    total: counts.total,
    clusters: page.items.map((entry) => clusterView(hub, entry)),
    limit,
    continue: continueToken('clusters', page.next),
  };
}

/** One cluster's view with its latest full report; undefined when it never reported. */
export async function clusterDetail(
  hub: Hub,
  name: string,
): Promise<{ cluster: ClusterView; report: Report } | undefined> {
  const found = await hub.store.getCluster(name);
  return found && { cluster: clusterView(hub, found.record), report: found.report };
}

/** A cluster's latest report summaries, newest first, one page at a time. */
export async function clusterHistory(
  hub: Hub,
  name: string,
  limit: number,
  token: string | null = null,
): Promise<{ history: HistoryEntry[]; continue: string | null }> {
  const before = positionOf('history', token);
  if (before !== undefined && typeof before !== 'number') {
    throw new HttpError(
      400,
      'invalid continue token: pass the "continue" of the previous history page unchanged',
    );
  }
  const entries = await hub.store.history(name, limit + 1, before);
  const more = entries.length > limit;
  const history = more ? entries.slice(0, limit) : entries;
  return { history, continue: continueToken('history', more ? history.at(-1)!.seq : null) };
}

/** A commit (7 to 64 hex digits, lowercased) from a URL path segment; a 400 when it is not one. */
export function commitOf(text: string): string {
  if (!/^[0-9a-f]{7,64}$/i.test(text)) {
    throw new HttpError(400, `"${text}" is not a commit sha: expected 7 to 64 hexadecimal characters`);
  }
  return text.toLowerCase();
}

function rolloutStateOf(text: string | null | undefined): RolloutState | null {
  if (!text) return null;
  if (!(ROLLOUT_STATES as string[]).includes(text)) {
    throw new HttpError(400, `unknown rollout state "${text}": expected one of ${ROLLOUT_STATES.join(', ')}`);
  }
  return text as RolloutState;
}

/** The rollout list's query: selector, state and paging. */
export interface RolloutFilter {
  selector?: string | null;
  state?: string | null;
  limit?: string | null;
  continue?: string | null;
}

/** A commit's rollout: counts from the database, and one page of clusters (optionally in one state). */
export async function rolloutView(hub: Hub, sha: string, filter: RolloutFilter): Promise<RolloutView> {
  const selector = selectorOf(filter.selector);
  const state = rolloutStateOf(filter.state);
  const limit = pageLimitOf(filter.limit ?? null);
  const after = positionOf('rollout', filter.continue ?? null);
  let counts: RolloutCounts;
  try {
    counts = await hub.store.rolloutCounts(sha, selector);
  } catch (err) {
    if (err instanceof AmbiguousCommitError)
      throw new HttpError(400, err.message, { commits: err.commits }, { cause: err });
    throw err;
  }
  const page = await hub.store.listRollout(
    counts.commit,
    { selector, ...(state ? { state } : {}) },
    { limit, ...(after === undefined ? {} : { after: String(after) }) },
  );
  const clusters = page.items.map((entry) => {
    const view = clusterView(hub, entry);
    return {
      name: entry.name,
      labels: view.labels,
      state: entry.state,
      commit: view.commit,
      phase: view.phase,
      health: view.health,
      receivedAt: entry.receivedAt,
      lastSeen: view.lastSeen,
      stale: view.stale,
    };
  });
  return {
    commit: sha,
    resolved: counts.commit,
    selector: filter.selector ?? '',
    state,
    total: counts.total,
    counts: counts.counts,
    clusters,
    limit,
    continue: continueToken('rollout', page.next),
  };
}
