/** Prometheus metrics of the hub, in their own registry (never the global one). */
import { Counter, Gauge, Registry } from 'prom-client';
import { CLUSTER_PHASES } from '../fleet/summary.js';
import type { Store } from '../store/store.js';

export interface HubMetrics {
  registry: Registry;
  /** Reports accepted, by result: plain counts on the hot path, handed to prom-client on scrape. */
  received: Record<string, number>;
  /** Reports refused, by reason. */
  rejected: Record<string, number>;
}

/** A counter whose increments are kept in `counts` and added to the metric when it is collected. */
function countedOn(
  registry: Registry,
  name: string,
  help: string,
  label: string,
  counts: Record<string, number>,
): void {
  new Counter({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      for (const [value, n] of Object.entries(counts)) {
        if (n === 0) continue;
        this.inc({ [label]: value }, n);
        counts[value] = 0;
      }
    },
  });
}

/** Clusters with their own series in the per-cluster gauges. */
export const PER_CLUSTER_SERIES = 1000;

export function createMetrics(store: Store, now: () => number): HubMetrics {
  const registry = new Registry();
  const received: Record<string, number> = {};
  const rejected: Record<string, number> = {};
  countedOn(
    registry,
    'strata_hub_reports_received_total',
    'Reports accepted, by result (stored, duplicate, stale).',
    'result',
    received,
  );
  countedOn(
    registry,
    'strata_hub_reports_rejected_total',
    'Reports refused, by reason (unauthorized, forbidden, invalid, too_large).',
    'reason',
    rejected,
  );
  new Gauge({
    name: 'strata_hub_clusters',
    help: 'Registered clusters, by sync phase (counted by the database).',
    labelNames: ['phase'] as const,
    registers: [registry],
    async collect() {
      const counts = await store.countFleet({ selector: [] }, now());
      for (const phase of CLUSTER_PHASES) this.set({ phase }, counts.phases[phase]);
    },
  });
  // Per-cluster series for the first clusters by name only: a million clusters would be millions of
  // series per scrape, more than any Prometheus should take from one target.
  const perCluster = async () =>
    (await store.listFleet({ selector: [] }, { limit: PER_CLUSTER_SERIES })).items.filter(
      (c) => c.seq !== null,
    );
  new Gauge({
    name: 'strata_hub_cluster_phase',
    help: `The sync phase of each cluster (the first ${PER_CLUSTER_SERIES} by name): 1 for its current phase, 0 for the others.`,
    labelNames: ['cluster', 'phase'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const c of await perCluster()) {
        for (const phase of CLUSTER_PHASES)
          this.set({ cluster: c.name, phase }, c.summary?.phase === phase ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'strata_hub_cluster_last_seen_age_seconds',
    help: `Seconds since each cluster (the first ${PER_CLUSTER_SERIES} by name) last reported.`,
    labelNames: ['cluster'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const at = now();
      for (const c of await perCluster()) this.set({ cluster: c.name }, (at - (c.receivedAt ?? at)) / 1000);
    },
  });
  return { registry, received, rejected };
}
