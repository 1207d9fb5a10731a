import type { Drift, SyncResult as ReportSync, SourceHealth } from '../report/schema.js';
import type { SyncResult } from './types.js';

/** The report's `sources[].sync`, `health` and `drift` sections (DESIGN.md §5) from one sync. */
export function reportSections(
  result: SyncResult,
  commit: string,
): { sync: ReportSync; health: SourceHealth; drift: Drift[] } {
  return {
    sync: {
      phase: result.phase,
      commit,
      startedAt: result.startedAt,
      finishedAt: result.finishedAt,
      created: result.counts.created,
      updated: result.counts.updated + result.counts.replaced,
      pruned: result.counts.pruned,
      unchanged: result.counts.unchanged,
      conflicts: result.conflicts.map((c) => ({
        object: c.id,
        ...(c.field ? { field: c.field } : {}),
        manager: c.manager,
        message: c.message,
      })),
      errors: [
        ...result.errors.map((e) => ({
          message: e.message,
          reason: e.reason,
          ...(e.id ? { object: e.id } : {}),
        })),
        ...(result.pruneRefused ? [{ message: result.pruneRefused, reason: 'PruneRefused' }] : []),
      ],
    },
    health: { status: result.health.status, objects: result.health.objects },
    drift: result.drift.map((d) => ({
      id: d.id,
      fields: d.fields,
      action: d.action,
      detectedAt: result.finishedAt,
    })),
  };
}
