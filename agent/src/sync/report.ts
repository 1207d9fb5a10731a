import type { Drift, SyncResult as ReportSync, SourceHealth } from '../../../contract/report.js';
import { cutText, pruneRefusedReportError, syncReportError } from './report-errors.js';
import type { SyncResult } from './types.js';

const cut = cutText;

/** The report's `sources[].sync`, `health` and `drift` sections (docs/design.md §5) from one sync. */
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
        ...(c.field ? { field: cut(c.field, 1000) } : {}),
        manager: cut(c.manager, 250),
        message: cut(c.message),
      })),
      errors: [
        ...result.errors.map(syncReportError),
        ...(result.pruneRefused ? [pruneRefusedReportError(result.pruneRefused)] : []),
      ],
    },
    health: {
      status: result.health.status,
      objects: result.health.objects.map((o) => ({ ...o, message: cut(o.message) })),
    },
    drift: result.drift.map((d) => ({
      id: d.id,
      fields: d.fields,
      action: d.action,
      detectedAt: result.finishedAt,
    })),
  };
}
