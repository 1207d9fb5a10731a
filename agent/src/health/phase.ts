import type { HealthSummary, SyncPhase } from '../../../contract/report.js';
import type { ObjectStatus } from './status.js';

/**
 * Where one sync of a source stands (`SyncPhase`) and the overall health of a set of objects
 * (`HealthSummary`): the report's own types, so the agent cannot drift from the contract.
 */
export type { HealthSummary, SyncPhase };

/** The aggregate health of a set of objects: Degraded if one failed, else Progressing if one is still moving, else Unknown if one is unknown or missing. */
export function summariseHealth(statuses: ObjectStatus[]): HealthSummary {
  if (statuses.includes('Failed')) return 'Degraded';
  if (statuses.includes('InProgress') || statuses.includes('Terminating')) return 'Progressing';
  if (statuses.includes('Unknown') || statuses.includes('NotFound')) return 'Unknown';
  return 'Healthy';
}

/** What a source's sync phase is decided from: errors, pending differences and health. */
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
