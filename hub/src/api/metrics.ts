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
    name: 'strata_hub_cluster_phase',
    help: 'The sync phase of each cluster: 1 for its current phase, 0 for the others.',
    labelNames: ['cluster', 'phase'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const c of await store.listClusters()) {
        for (const phase of CLUSTER_PHASES)
          this.set({ cluster: c.name, phase }, c.summary.phase === phase ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'strata_hub_cluster_last_seen_age_seconds',
    help: 'Seconds since each cluster last reported.',
    labelNames: ['cluster'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const at = now();
      for (const c of await store.listClusters()) this.set({ cluster: c.name }, (at - c.receivedAt) / 1000);
    },
  });
  return { registry, received, rejected };
}
