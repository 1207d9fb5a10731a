/** The agent's Prometheus metrics (prom-client), on their own registry. */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { SourceHealth, SourceStatus, SyncResult } from '../../../contract/report.js';

const PHASES = ['Synced', 'OutOfSync', 'Progressing', 'Degraded', 'Failed'] as const;
const OBJECT_STATUSES = ['Current', 'InProgress', 'Failed', 'Terminating', 'NotFound', 'Unknown'] as const;

/** The agent's Prometheus metrics, updated by the loop and served on /metrics. */
export class AgentMetrics {
  readonly registry = new Registry();
  private readonly syncDuration = new Histogram({
    name: 'strata_sync_duration_seconds',
    help: 'Duration of one reconcile of a source (fetch to report).',
    labelNames: ['source'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  });
  private readonly objects = this.gauge(
    'strata_objects',
    'Objects of a source by health status after the last reconcile.',
    ['source', 'status'],
  );
  private readonly phase = this.gauge(
    'strata_sync_phase',
    'The sync phase of a source (1 for the current phase, 0 for the others).',
    ['source', 'phase'],
  );
  private readonly lastSuccess = this.gauge(
    'strata_last_successful_sync_timestamp_seconds',
    'Unix time of the last reconcile that ended Synced, Progressing or Degraded (applied without failure).',
    ['source'],
  );
  private readonly reachable = this.gauge(
    'strata_source_reachable',
    '1 when the last fetch of the source reached its remote, 0 when it did not.',
    ['source'],
  );
  private readonly reconciles = this.counter(
    'strata_reconciles_total',
    'Reconciles by source and outcome phase.',
    ['source', 'phase'],
  );
  private readonly deliveries = this.counter(
    'strata_report_deliveries_total',
    'Report delivery attempts to the hub by result.',
    ['result'],
  );

  private readonly rolloutWaiting = this.gauge(
    'strata_rollout_waiting',
    "1 while a source's fetched commit waits for its wave's gate (not released to this cluster), else 0.",
    ['source'],
  );
  private readonly rolloutWave = this.gauge(
    'strata_rollout_wave',
    "This cluster's wave (0 first) for a source's fetched commit under a staged rollout.",
    ['source'],
  );
  private readonly rolloutReleased = this.gauge(
    'strata_rollout_released_commit_info',
    'The commit a source enforces under a staged rollout: the last one released to this cluster (1).',
    ['source', 'commit'],
  );
  private readonly released = new Map<string, string>();

  /** A gauge on the agent's registry; its label names type its `set` calls. */
  private gauge<L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  /** A counter on the agent's registry; its label names type its `inc` calls. */
  private counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  constructor(outboxDepth: () => number, outboxFailing: () => boolean = () => false) {
    new Gauge({
      name: 'strata_outbox_depth',
      help: 'Reports waiting on disk for delivery to the hub.',
      registers: [this.registry],
      collect() {
        this.set(outboxDepth());
      },
    });
    new Gauge({
      name: 'strata_outbox_write_failing',
      help: '1 while the outbox file cannot be written (the state directory is full or failing).',
      registers: [this.registry],
      collect() {
        this.set(outboxFailing() ? 1 : 0);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'strata_agent_' });
  }

  recordReconcile(
    source: string,
    seconds: number,
    sync: SyncResult | null,
    health: SourceHealth | null,
    reachable: boolean,
  ): void {
    this.syncDuration.observe({ source }, seconds);
    this.reachable.set({ source }, reachable ? 1 : 0);
    if (!sync) return;
    this.reconciles.inc({ source, phase: sync.phase });
    for (const p of PHASES) this.phase.set({ source, phase: p }, p === sync.phase ? 1 : 0);
    if (sync.phase !== 'Failed') this.lastSuccess.set({ source }, Date.parse(sync.finishedAt) / 1000);
    if (health) {
      for (const s of OBJECT_STATUSES) {
        this.objects.set({ source, status: s }, health.objects.filter((o) => o.status === s).length);
      }
    }
  }

  /** A source's rollout state after its gate check; null: its commit declares no waves. */
  recordRollout(source: string, rollout: SourceStatus['rollout'] | null): void {
    const before = this.released.get(source);
    const enforcing = rollout?.enforcing ?? null;
    if (before !== undefined && before !== enforcing) this.rolloutReleased.remove({ source, commit: before });
    if (!rollout) {
      this.released.delete(source);
      this.rolloutWaiting.remove({ source });
      this.rolloutWave.remove({ source });
      return;
    }
    this.rolloutWaiting.set({ source }, rollout.released ? 0 : 1);
    this.rolloutWave.set({ source }, rollout.wave);
    if (enforcing) {
      this.rolloutReleased.set({ source, commit: enforcing }, 1);
      this.released.set(source, enforcing);
    } else this.released.delete(source);
  }

  recordDelivery(ok: boolean): void {
    this.deliveries.inc({ result: ok ? 'delivered' : 'failed' });
  }
}
