/** Prometheus metrics of the hub, in their own registry (never the global one). */
import { Counter, Gauge, Registry } from 'prom-client';
import { CLUSTER_PHASES } from '../fleet/summary.js';
import type { Store } from '../store/store.js';
import { rolloutViewOf } from './rollout-view.js';

/** The hub's Prometheus metrics, served on /metrics. */
export interface HubMetrics {
  registry: Registry;
  /** Reports accepted, by result: plain counts on the hot path, handed to prom-client on scrape. */
  received: Record<string, number>;
  /** Reports refused, by reason. */
  rejected: Record<string, number>;
  /** Heartbeats answered, by result (alive, duplicate, stale, full-report-needed). */
  heartbeats: Record<string, number>;
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

/** The hub's metrics, with fleet gauges read from the store when scraped. */
export function createMetrics(store: Store, now: () => number): HubMetrics {
  const registry = new Registry();
  const received: Record<string, number> = {};
  const rejected: Record<string, number> = {};
  const heartbeats: Record<string, number> = {};
  countedOn(
    registry,
    'strata_hub_heartbeats_total',
    'Heartbeats answered, by result (alive, duplicate, stale, full-report-needed).',
    'result',
    heartbeats,
  );
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
  rolloutGauges(registry, store, now);
  return { registry, received, rejected, heartbeats };
}

/** Staged rollouts with their own series: the newest ones only, each decided at scrape time. */
export const ROLLOUT_SERIES = 20;

function rolloutGauges(registry: Registry, store: Store, now: () => number): void {
  const views = async () =>
    Promise.all((await store.listRollouts(ROLLOUT_SERIES)).map((r) => rolloutViewOf({ store, now }, r)));
  const gauge = (
    name: string,
    help: string,
    labelNames: string[],
    fill: (g: Gauge, v: Awaited<ReturnType<typeof views>>) => void,
  ) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        fill(this, await views());
      },
    });
  gauge(
    'strata_hub_rollout_state',
    `1 for each of the newest ${ROLLOUT_SERIES} rollouts' current state (progressing, complete, paused, aborted, halted, superseded, conflict).`,
    ['commit', 'state'],
    (g, vs) => {
      for (const v of vs) g.set({ commit: v.rollout.commit, state: v.gate.state }, 1);
    },
  );
  gauge(
    'strata_hub_rollout_wave_clusters',
    'Clusters of a rollout wave, by their state in it (healthy, soaking, applying, released, waiting, failed, offline).',
    ['commit', 'wave', 'state'],
    (g, vs) => {
      for (const v of vs)
        for (const w of v.gate.waves)
          for (const c of w.clusters) g.inc({ commit: v.rollout.commit, wave: w.name, state: c.state });
    },
  );
  gauge(
    'strata_hub_rollout_wave_open',
    '1 when the wave is open or passed, 0 while it waits.',
    ['commit', 'wave'],
    (g, vs) => {
      for (const v of vs)
        for (const w of v.gate.waves)
          g.set(
            { commit: v.rollout.commit, wave: w.name },
            w.state === 'open' || w.state === 'passed' ? 1 : 0,
          );
    },
  );
  gauge(
    'strata_hub_rollout_wave_failures',
    'Failed clusters of the wave (its failure budget spent).',
    ['commit', 'wave'],
    (g, vs) => {
      for (const v of vs)
        for (const w of v.gate.waves) g.set({ commit: v.rollout.commit, wave: w.name }, w.failures);
    },
  );
  gauge(
    'strata_hub_rollout_wave_failure_budget',
    'Failures the wave tolerates before the rollout halts.',
    ['commit', 'wave'],
    (g, vs) => {
      for (const v of vs)
        for (const w of v.gate.waves) g.set({ commit: v.rollout.commit, wave: w.name }, w.allowedFailures);
    },
  );
  gauge(
    'strata_hub_rollout_wave_soak_remaining_seconds',
    "Longest soak time left among the wave's healthy clusters.",
    ['commit', 'wave'],
    (g, vs) => {
      for (const v of vs)
        for (const w of v.gate.waves)
          g.set({ commit: v.rollout.commit, wave: w.name }, (w.soakLeftMs ?? 0) / 1000);
    },
  );
}
