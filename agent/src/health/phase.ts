import type { HealthStatus } from './status.js';

/** Where one sync of a source stands, as the report's `sync.phase` says it. */
export type SyncPhase = 'Synced' | 'OutOfSync' | 'Progressing' | 'Degraded' | 'Failed';

/** Overall health of a set of objects, as the report's `health.status` says it. */
export type HealthSummary = 'Healthy' | 'Progressing' | 'Degraded' | 'Unknown';

export function summariseHealth(statuses: HealthStatus[]): HealthSummary {
  if (statuses.includes('Failed')) return 'Degraded';
  if (statuses.includes('InProgress') || statuses.includes('Terminating')) return 'Progressing';
  if (statuses.includes('Unknown') || statuses.includes('NotFound')) return 'Unknown';
  return 'Healthy';
}

export interface PhaseInputs {
  /** Render failed, or objects could not be applied/pruned. */
  errors: number;
  /** Differences left in place: plan-only runs, drift under policy `report`, refused prunes. */
  pending: number;
  health: HealthSummary;
}

/**
 * Errors first (Failed), then objects that failed health (Degraded), then work the cluster is
 * still doing (Progressing), then differences we left (OutOfSync); otherwise Synced.
 */
export function syncPhase(inputs: PhaseInputs): SyncPhase {
  if (inputs.errors > 0) return 'Failed';
  if (inputs.health === 'Degraded') return 'Degraded';
  if (inputs.health === 'Progressing') return 'Progressing';
  if (inputs.pending > 0) return 'OutOfSync';
  return 'Synced';
}
