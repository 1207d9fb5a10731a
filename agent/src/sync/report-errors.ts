/**
 * The one mapping from engine errors to report errors: what the sync engine, the renderer and the
 * loop's own failures become in a report's `sync.errors`, each message cut to the report's bound
 * (contract/limits.ts), so every producer of report errors agrees on reasons and sizes.
 */
import { REPORT_CONTENT } from '../../../contract/limits.js';
import type { ReportError } from '../../../contract/report.js';
import type { RenderError } from '../render/index.js';
import type { SourceErrorReason } from '../source/errors.js';
import type { SyncError, SyncReason } from './types.js';

/**
 * Every reason the agent writes into a report error: a sync's (`SyncReason`), a source's, a
 * refused prune, a render error (`SourceUnavailable` when a chart source is unreachable), a
 * reconcile that failed in the loop, and a live preview that could not fetch or plan its ref, or
 * that its preview policy refused (not dry-run at all) or closed for its age.
 */
export type ReportReason =
  | SyncReason
  | SourceErrorReason
  | 'PruneRefused'
  | 'RenderError'
  | 'ReconcileError'
  | 'FetchFailed'
  | 'PlanFailed'
  | 'PreviewRefused'
  | 'PreviewExpired';

/** A report error whose reason is one the agent writes. */
export type AgentReportError = ReportError & { reason: ReportReason };

/** Cuts a text to `max` characters, marking the cut: apiserver messages can be long. */
export function cutText(s: string, max: number = REPORT_CONTENT.maxMessageChars): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** A thrown error as a report error with `reason`. */
export function thrownReportError(err: unknown, reason: ReportReason): AgentReportError {
  return { reason, message: String((err as Error)?.message ?? err).slice(0, REPORT_CONTENT.maxMessageChars) };
}

/** Render errors as report errors, each with its location. */
export function renderReportErrors(errors: RenderError[]): AgentReportError[] {
  return errors.slice(0, REPORT_CONTENT.maxRenderErrors).map((e) => ({
    // An unreachable chart source is the source's fault, not the commit's: said as Git says it.
    reason: e.code === 'source' ? 'SourceUnavailable' : 'RenderError',
    message: e.message.slice(0, REPORT_CONTENT.maxMessageChars),
    ...(e.file ? { file: e.file } : {}),
    ...(e.doc !== undefined ? { doc: e.doc } : {}),
    ...(e.line !== undefined ? { line: e.line } : {}),
    ...(e.object ? { object: e.object } : {}),
  }));
}

/** One sync error as a report error. */
export function syncReportError(e: SyncError): ReportError {
  return {
    message: cutText(e.message),
    reason: cutText(e.reason, 120),
    ...(e.id ? { object: cutText(e.id, 1000) } : {}),
  };
}

/** A prune the guard refused, as a report error. */
export function pruneRefusedReportError(message: string): AgentReportError {
  return { message, reason: 'PruneRefused' };
}
