/** The report sections of a reconcile that failed before the sync engine could finish. */

import { REPORT_CONTENT } from '../../../contract/limits.js';
import type { ReportError } from '../../../contract/report.js';
import type { SourceSections } from './types.js';

/**
 * A failed sync of `commit` at `finishedAt`: nothing applied or pruned, the previous health kept
 * (the cluster did not change), no drift claimed. `errors` come from sync/report-errors.ts.
 */
export function failureSections(
  commit: string,
  errors: ReportError[],
  previous: SourceSections | null,
  finishedAt: Date,
): SourceSections {
  return {
    sync: {
      phase: 'Failed',
      commit,
      finishedAt: finishedAt.toISOString(),
      created: 0,
      updated: 0,
      pruned: 0,
      unchanged: 0,
      conflicts: [],
      errors: errors.slice(0, REPORT_CONTENT.maxRenderErrors),
    },
    health: previous?.health ?? null,
    drift: [],
  };
}
