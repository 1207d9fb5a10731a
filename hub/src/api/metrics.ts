/** Prometheus metrics of the hub, in their own registry (never the global one). */
import { Counter, Gauge, Registry } from 'prom-client';
import { CLUSTER_PHASES } from '../fleet/summary.js';
import type { Store } from '../store/store.js';

export interface HubMetrics {
  registry: Registry;
  received: Counter<'result'>;
  rejected: Counter<'reason'>;
}

export function createMetrics(store: Store, now: () => number): HubMetrics {
  const registry = new Registry();
  const received = new Counter({
    name: 'strata_hub_reports_received_total',
    help: 'Reports accepted, by result (stored, duplicate, stale).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const rejected = new Counter({
    name: 'strata_hub_reports_rejected_total',
    help: 'Reports refused, by reason (unauthorized, forbidden, invalid, too_large).',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
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
