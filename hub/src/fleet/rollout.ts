/**
 * A commit's rollout across the fleet. The hub has no Git, so "behind" means "runs another
 * commit"; a cluster that fetched the commit but failed to apply it is `failed`. Pure.
 */
import type { ClusterHealth, ClusterPhase } from './summary.js';

/**
 * Where one cluster stands on a commit: running it healthy, progressing or failed, behind, or
 * silent.
 */
export type RolloutState = 'healthy' | 'progressing' | 'failed' | 'behind' | 'notReported';
/** The rollout states in the order a reader wants them. */
export const ROLLOUT_STATES: readonly RolloutState[] = [
  'healthy',
  'progressing',
  'failed',
  'behind',
  'notReported',
];

/** One cluster's line in a commit's rollout. */
export interface RolloutCluster {
  name: string;
  labels: Record<string, string>;
  state: RolloutState;
  /** The commit the cluster runs (null when it never reported). */
  commit: string | null;
  phase: ClusterPhase;
  health: ClusterHealth;
  receivedAt: number | null;
}

/** What a cluster's rollout state is read from: its name, labels and latest summary. */
export interface RolloutInput {
  name: string;
  labels: Record<string, string>;
  receivedAt: number;
  summary: {
    phase: ClusterPhase;
    health: ClusterHealth;
    commit: string | null;
    sources: { fetched: string | null; commit: string | null; phase: ClusterPhase; health: ClusterHealth }[];
  };
}

/** Does this (possibly abbreviated, at least 7 characters) sha name that full commit? */
export function sameCommit(sha: string, commit: string | null): boolean {
  return commit !== null && sha.length >= 7 && commit.toLowerCase().startsWith(sha.toLowerCase());
}

/** Where a cluster stands on a commit (a prefix of 7 or more digits matches). */
export function rolloutState(sha: string, cluster: Pick<RolloutInput, 'summary'>): RolloutState {
  const sources = cluster.summary.sources;
  const running = sources.filter((s) => sameCommit(sha, s.commit));
  if (running.length > 0) {
    const ok = running.every((s) => s.phase === 'Synced' && s.health === 'Healthy');
    if (ok) return 'healthy';
    return running.some((s) => s.phase === 'Failed' || s.phase === 'Degraded' || s.health === 'Degraded')
      ? 'failed'
      : 'progressing';
  }
  if (sources.some((s) => sameCommit(sha, s.fetched))) {
    return sources.some((s) => s.phase === 'Failed') ? 'failed' : 'progressing';
  }
  return 'behind';
}

/**
 * Every commit a cluster's sources name (applied or fetched), with the cluster's rollout state for it:
 * for any other commit the cluster is `behind`. Computed at ingest, so a rollout is a lookup.
 */
export function rolloutStates(summary: RolloutInput['summary']): [commit: string, state: RolloutState][] {
  const commits = new Set<string>();
  for (const s of summary.sources) {
    if (s.commit) commits.add(s.commit.toLowerCase());
    if (s.fetched) commits.add(s.fetched.toLowerCase());
  }
  return [...commits].sort().map((commit) => [commit, rolloutState(commit, { summary })]);
}

/** Every cluster's line in a commit's rollout, the silent ones as notReported. */
export function rolloutOf(sha: string, reported: RolloutInput[], silent: string[]): RolloutCluster[] {
  const rows: RolloutCluster[] = reported.map((c) => ({
    name: c.name,
    labels: c.labels,
    state: rolloutState(sha, c),
    commit: c.summary.commit,
    phase: c.summary.phase,
    health: c.summary.health,
    receivedAt: c.receivedAt,
  }));
  for (const name of silent) {
    rows.push({
      name,
      labels: {},
      state: 'notReported',
      commit: null,
      phase: 'Unknown',
      health: 'Unknown',
      receivedAt: null,
    });
  }
  return rows.sort((a, b) => a.name.localeCompare(b.name));
}

/** How many values fall on each key, every key present. */
export function countBy<T extends string>(keys: readonly T[], values: T[]): Record<T, number> {
  const counts = Object.fromEntries(keys.map((k) => [k, 0])) as Record<T, number>;
  for (const v of values) counts[v]++;
  return counts;
}
