/**
 * The size limits both programs agree on, in one place: what a report may hold, how large a body
 * the hub takes, how much of a plan a preview keeps, and how large a PR comment grows. The agent
 * trims to these numbers and the hub enforces them, so a change here changes both sides at once.
 */

const MiB = 1024 * 1024;

/** Report body sizes, in bytes (the hub's `--body-limit`, the agent's `hub.maxReportBytes`). */
export const REPORT_BODY = {
  /** The default on both sides: the hub accepts it, the agent fits its reports under it. */
  defaultBytes: 4 * MiB,
  /** The smallest `hub.maxReportBytes` the agent's configuration accepts. */
  minConfiguredBytes: 65_536,
  /** The largest `hub.maxReportBytes` the agent's configuration accepts. */
  maxConfiguredBytes: 64 * MiB,
  /** The smallest limit a 413 answer shrinks the agent's to: a trimmed report is far below it. */
  minShrunkBytes: 16 * 1024,
} as const;

/** Bounds of a report's contents, enforced by the schema in `report.ts`. */
export const REPORT_CONTENT = {
  /** Longest free text (messages, reasons, ids) in a report. */
  maxTextChars: 4096,
  /** Longest error or status message the agent writes: under `maxTextChars`, with room for a mark. */
  maxMessageChars: 4000,
  /** Most objects, conflicts, errors, drift or plan entries in one list. */
  maxObjects: 50_000,
  /** Most render errors the agent keeps in one report. */
  maxRenderErrors: 1000,
  /** Most sources in one report. */
  maxSources: 64,
  /** Most pull-request previews in one report. */
  maxPreviews: 1000,
  /** Field changes kept per preview plan entry: a plan of a huge object stays bounded. */
  maxEntryChanges: 100,
} as const;

/** What a PR comment shows, for `strata preview` and the hub's live preview alike. */
export interface CommentLimits {
  /** Largest output, in characters (a GitHub comment holds 65,536). */
  maxChars: number;
  /** Field rows shown per changed object before an "N more fields" line. */
  maxFields: number;
  /** Objects shown per section before an "N more objects" line. */
  maxObjects: number;
  /** Longest value shown in a field row before it is cut with "…". */
  maxValueChars: number;
}

/** The one set of PR-comment limits. */
export const COMMENT_LIMITS: Readonly<Required<CommentLimits>> = {
  maxChars: 60_000,
  maxFields: 30,
  maxObjects: 50,
  maxValueChars: 100,
};

/** Longest field path shown in a PR comment before it is cut with "…". */
export const COMMENT_MAX_PATH_CHARS = 200;
/** Cluster names listed in a section's title before "and N more". */
export const COMMENT_MAX_SECTION_NAMES = 12;
/** Room kept under `maxChars` for the closing "N more" lines, so they always fit. */
export const COMMENT_TRAILER_CHARS = 400;
