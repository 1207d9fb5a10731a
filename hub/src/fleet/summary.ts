/**
 * What the fleet views need from a report, derived once at ingest so list pages never parse full
 * reports: the cluster's phase, health and commit, and a short line per source. Pure.
 */
import type { HealthSummary, Report, SourceStatus, SyncPhase } from '../../../contract/report.js';

/** A cluster's phase: its worst source's sync phase; `Unknown` before any sync finished. */
export type ClusterPhase = SyncPhase | 'Unknown';
/** A cluster's aggregate health: the worst of its sources'. */
export type ClusterHealth = HealthSummary;

/** The cluster phases in the order a reader wants them. */
export const CLUSTER_PHASES: readonly ClusterPhase[] = [
  'Synced',
  'OutOfSync',
  'Progressing',
  'Degraded',
  'Failed',
  'Unknown',
];

/** One source's line in a report summary: commit, phase, health, counts. */
export interface SourceSummary {
  url: string;
  ref: string;
  path?: string;
  /** The commit fetched from Git. */
  fetched: string | null;
  /** The commit the last sync applied. */
  commit: string | null;
  phase: ClusterPhase;
  health: ClusterHealth;
  reachable: boolean;
  errors: number;
  drift: number;
}

/** What the hub keeps of a report for lists and filters, besides the report itself. */
export interface ReportSummary {
  phase: ClusterPhase;
  health: ClusterHealth;
  commit: string | null;
  sourceUnavailable: boolean;
  errors: number;
  drift: number;
  sources: SourceSummary[];
}

const PHASE_SEVERITY: Record<ClusterPhase, number> = {
  Synced: 0,
  Progressing: 1,
  OutOfSync: 2,
  Unknown: 3,
  Degraded: 4,
  Failed: 5,
};
const HEALTH_SEVERITY: Record<ClusterHealth, number> = {
  Healthy: 0,
  Progressing: 1,
  Unknown: 2,
  Degraded: 3,
};

/** PURE: a report's summary; the cluster's phase and health are the worst of its sources'. */
export function summariseReport(report: Report): ReportSummary {
  const sources = report.sources.map(summariseSource);
  return {
    phase: worst(
      sources.map((s) => s.phase),
      PHASE_SEVERITY,
      'Unknown',
    ),
    health: worst(
      sources.map((s) => s.health),
      HEALTH_SEVERITY,
      'Unknown',
    ),
    commit: sources[0]?.commit ?? sources[0]?.fetched ?? null,
    sourceUnavailable: sources.some((s) => !s.reachable),
    errors: sources.reduce((n, s) => n + s.errors, 0),
    drift: sources.reduce((n, s) => n + s.drift, 0),
    sources,
  };
}

function summariseSource(source: SourceStatus): SourceSummary {
  return {
    url: source.url,
    ref: source.ref,
    ...(source.path === undefined ? {} : { path: source.path }),
    fetched: source.commit,
    commit: source.sync?.commit ?? null,
    phase: source.sync?.phase ?? 'Unknown',
    health: source.health?.status ?? 'Unknown',
    reachable: source.reachable,
    errors: (source.sync?.errors.length ?? 0) + (source.error ? 1 : 0),
    drift: source.drift.length,
  };
}

function worst<T extends string>(values: T[], severity: Record<T, number>, empty: T): T {
  if (values.length === 0) return empty;
  return values.reduce((a, b) => (severity[b] > severity[a] ? b : a));
}
