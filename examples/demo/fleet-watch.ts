/**
 * Watches the hub's fleet API until every demo cluster is Synced on the expected commit, printing
 * each change of a cluster's phase or commit as it happens.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface ClusterLine {
  name: string;
  phase: string;
  commit: string | null;
  sourceUnavailable: boolean;
}

/** The clusters of `GET /api/v1/clusters`, reduced to what the demo shows. */
export async function fetchFleet(hubUrl: string, signal?: AbortSignal): Promise<ClusterLine[]> {
  const answer = await fetch(`${hubUrl}/api/v1/clusters`, signal ? { signal } : {});
  if (!answer.ok) throw new Error(`hub ${hubUrl}/api/v1/clusters answered HTTP ${answer.status}`);
  const view = (await answer.json()) as { clusters: ClusterLine[] };
  return view.clusters.map(({ name, phase, commit, sourceUnavailable }) => ({
    name,
    phase,
    commit,
    sourceUnavailable,
  }));
}

/** True when each named cluster reported Synced on `commit`. */
export function allSynced(fleet: ClusterLine[], names: readonly string[], commit: string): boolean {
  return names.every((name) => {
    const cluster = fleet.find((c) => c.name === name);
    return cluster?.phase === 'Synced' && cluster.commit === commit;
  });
}

/** `prod-hz Synced 1a2b3c4` — a cluster's state as the demo prints it. */
export function describeCluster(cluster: ClusterLine): string {
  const commit = cluster.commit ? cluster.commit.slice(0, 7) : 'no commit yet';
  return `${cluster.name}: ${cluster.phase} at ${commit}${cluster.sourceUnavailable ? ' (Git unreachable: keeps its last commit)' : ''}`;
}

export interface WatchOptions {
  hubUrl: string;
  names: readonly string[];
  /** The commit every cluster should run (main's head); read on each poll. */
  commit: () => string;
  onChange: (text: string) => void;
  signal: AbortSignal;
  everyMs?: number;
}

/**
 * Polls until the signal aborts; calls `onSynced` once each time the fleet becomes fully Synced
 * on the expected commit. Hub errors are reported once and retried.
 */
export async function watchFleet(opts: WatchOptions, onSynced: () => void): Promise<void> {
  const shown = new Map<string, string>();
  let synced = false;
  let lastError = '';
  while (!opts.signal.aborted) {
    try {
      const fleet = await fetchFleet(opts.hubUrl, opts.signal);
      lastError = '';
      for (const cluster of fleet) {
        const text = describeCluster(cluster);
        if (shown.get(cluster.name) !== text) opts.onChange(text);
        shown.set(cluster.name, text);
      }
      const now = allSynced(fleet, opts.names, opts.commit());
      if (now && !synced) onSynced();
      synced = now;
    } catch (err) {
      if (opts.signal.aborted) return;
      const message = (err as Error).message;
      if (message !== lastError) opts.onChange(`hub not answering: ${message}`);
      lastError = message;
    }
    await sleep(opts.everyMs ?? 1000, undefined, { signal: opts.signal }).catch(() => {});
  }
}
