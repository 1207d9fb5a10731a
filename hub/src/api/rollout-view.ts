/**
 * A rollout as people and agents see it: the stored rollout, the clusters that run its source,
 * and the gate decided from them now. Every replica computes the same view from the same rows.
 */

import { redactUrl } from '../../../contract/redact.js';
import { decideGate, type GateCluster, type RolloutGate } from '../fleet/gate.js';
import { EMPTY_OBSERVATION } from '../fleet/rollout-observe.js';
import type { RolloutRecord } from '../store/store.js';
import type { Hub } from './router.js';

/** A staged rollout as the API shows it: its rules, waves and each cluster's gate. */
export interface RolloutView {
  rollout: RolloutRecord;
  gate: RolloutGate;
  decidedAt: number;
}

/** The key of a source: redacted URL, ref and path, as reports and announcements both carry them. */
export function sourceKey(source: { url: string; ref: string; path?: string }): string {
  return `${redactUrl(source.url)}#${source.ref}${source.path ? `:${source.path}` : ''}`;
}

/**
 * Decides the gate of `rollout` now. Its clusters are those that report on its source, those with
 * an observation of the commit, those of the commit's fleet inventory (`clusters.yaml`, so a wave
 * whose clusters never reported still has members, which hold it), and `asking`: the announcing
 * cluster when the hub has no report of it on this source yet (a cluster that joins mid-rollout).
 */
export async function rolloutViewOf(
  hub: Pick<Hub, 'store' | 'now'>,
  rollout: RolloutRecord,
  asking?: { name: string; labels: Record<string, string> },
): Promise<RolloutView> {
  const now = hub.now();
  const [clusters, observations] = await Promise.all([
    hub.store.listClusters(),
    hub.store.rolloutObservations(rollout.commit),
  ]);
  const members: GateCluster[] = [];
  for (const c of clusters) {
    const onSource = c.summary.sources.some((s) => sourceKey(s) === rollout.source);
    if (!onSource && !observations.has(c.name) && c.name !== asking?.name) continue;
    members.push({
      name: c.name,
      labels: c.labels,
      lastSeenAt: c.receivedAt,
      observation: observations.get(c.name) ?? EMPTY_OBSERVATION,
    });
  }
  const known = new Map(clusters.map((c) => [c.name, c]));
  const named = new Set(members.map((m) => m.name));
  for (const entry of rollout.rules.inventory ?? []) {
    if (named.has(entry.name) || entry.name === asking?.name) continue;
    named.add(entry.name);
    const reported = known.get(entry.name);
    members.push({
      name: entry.name,
      labels: reported?.labels ?? entry.labels,
      lastSeenAt: reported?.receivedAt ?? null,
      observation: observations.get(entry.name) ?? EMPTY_OBSERVATION,
    });
  }
  if (asking && !members.some((m) => m.name === asking.name)) {
    members.push({
      name: asking.name,
      labels: asking.labels,
      lastSeenAt: now,
      observation: observations.get(asking.name) ?? EMPTY_OBSERVATION,
    });
  }
  return { rollout, gate: decideGate(rollout.rules, rollout, members, now), decidedAt: now };
}

/** A rollout by full commit or by an unambiguous prefix of at least 7 hex digits. */
export async function findRollout(
  hub: Pick<Hub, 'store'>,
  sha: string,
): Promise<RolloutRecord | undefined | 'ambiguous'> {
  const exact = await hub.store.getRollout(sha);
  if (exact || sha.length >= 40) return exact;
  const matches = (await hub.store.listRollouts(1000)).filter((r) => r.commit.startsWith(sha));
  if (matches.length > 1) return 'ambiguous';
  return matches[0];
}
