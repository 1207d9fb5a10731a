/** The report sections of a reconcile that failed before the sync engine could finish. */

import { REPORT_CONTENT } from '../../../contract/limits.js';
import type { ReportError } from '../../../contract/report.js';
import type { RenderError } from '../render/index.js';
import type { SourceSections } from './types.js';

const MAX_MESSAGE = REPORT_CONTENT.maxMessageChars;
const MAX_ERRORS = REPORT_CONTENT.maxRenderErrors;

/**
 * A failed sync of `commit` at `finishedAt`: nothing applied or pruned, the previous health kept
 * (the cluster did not change), no drift claimed.
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
      errors: errors.slice(0, MAX_ERRORS),
    },
    health: previous?.health ?? null,
    drift: [],
  };
}

/** A thrown error as a report error with `reason`. */
export function errorOf(err: unknown, reason: string): ReportError {
  return { reason, message: String((err as Error)?.message ?? err).slice(0, MAX_MESSAGE) };
}

/** Render errors as report errors, each with its location. */
export function renderErrorsOf(errors: RenderError[]): ReportError[] {
  return errors.slice(0, MAX_ERRORS).map((e) => ({
    // An unreachable chart source is the source's fault, not the commit's: said as Git says it.
    reason: e.code === 'source' ? 'SourceUnavailable' : 'RenderError',
    message: e.message.slice(0, MAX_MESSAGE),
    ...(e.file ? { file: e.file } : {}),
    ...(e.doc !== undefined ? { doc: e.doc } : {}),
    ...(e.line !== undefined ? { line: e.line } : {}),
    ...(e.object ? { object: e.object } : {}),
  }));
}
