/**
 * The status report an agent sends to the hub (docs/design.md §5): the ONE shared contract between
 * agent/src/report (producer) and hub/src/api (consumer). Reports are untrusted input at the hub,
 * so the schema is strict about types and bounds the size of every string and list.
 */
import { z } from 'zod';
import { REPORT_CONTENT } from './limits.js';

const MAX_OBJECTS = REPORT_CONTENT.maxObjects;
const text = (max: number = REPORT_CONTENT.maxTextChars) => z.string().max(max);
const timestamp = z.iso.datetime({ offset: true });
const count = z.number().int().nonnegative();

/** A cluster name: a DNS-1123 subdomain, as Kubernetes names are. */
export const ClusterName = z
  .string()
  .min(1)
  .max(253)
  .regex(
    /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/,
    'must be a DNS-1123 name: lowercase letters, digits, "-" and "."',
  );

export const Labels = z.record(text(317), text(63));

/** The sync phase of one source (docs/design.md §2, step 6). */
export const SyncPhase = z.enum(['Synced', 'OutOfSync', 'Progressing', 'Degraded', 'Failed']);
export type SyncPhase = z.infer<typeof SyncPhase>;

/** Aggregate health of a source's objects (one object's readiness is an `ObjectStatus`). */
export const HealthSummary = z.enum(['Healthy', 'Progressing', 'Degraded', 'Unknown']);
export type HealthSummary = z.infer<typeof HealthSummary>;

/** kstatus-like status of one object. */
export const ObjectStatus = z.enum(['Current', 'InProgress', 'Failed', 'Terminating', 'NotFound', 'Unknown']);
export type ObjectStatus = z.infer<typeof ObjectStatus>;

/**
 * An error with its context: where (object identity, or file/doc/line for render errors) and what.
 * `reason` is a short machine word (`RenderError`, `Immutable`, `SourceUnavailable`, ...).
 */
export const ReportError = z.object({
  message: text(),
  reason: text(128).optional(),
  object: text(1024).optional(),
  file: text(1024).optional(),
  doc: count.optional(),
  line: count.optional(),
  since: timestamp.optional(),
});
export type ReportError = z.infer<typeof ReportError>;

/** A field owned by another field manager that server-side apply would not take over. */
export const Conflict = z.object({
  object: text(1024),
  field: text(1024).optional(),
  manager: text(256).optional(),
  message: text().optional(),
});
export type Conflict = z.infer<typeof Conflict>;

export const SyncResult = z.object({
  phase: SyncPhase,
  commit: text(64),
  startedAt: timestamp.optional(),
  finishedAt: timestamp,
  created: count,
  updated: count,
  pruned: count,
  unchanged: count,
  conflicts: z.array(Conflict).max(MAX_OBJECTS),
  errors: z.array(ReportError).max(MAX_OBJECTS),
});
export type SyncResult = z.infer<typeof SyncResult>;

export const ObjectHealth = z.object({
  /** The canonical `group/Kind/namespace/name` (agent/src/model/object.ts `objectId`). */
  id: text(1024),
  status: ObjectStatus,
  message: text().default(''),
});
export type ObjectHealth = z.infer<typeof ObjectHealth>;

export const SourceHealth = z.object({
  status: HealthSummary,
  objects: z.array(ObjectHealth).max(MAX_OBJECTS),
});
export type SourceHealth = z.infer<typeof SourceHealth>;

/** A live object changed by someone else since the last apply. */
export const Drift = z.object({
  id: text(1024),
  /** JSON paths of the fields that differ (never their values: they may be secret). */
  fields: z.array(text(1024)).max(1000).default([]),
  action: z.enum(['corrected', 'reported']),
  detectedAt: timestamp,
});
export type Drift = z.infer<typeof Drift>;

export const SourceStatus = z.object({
  url: text(2048),
  ref: text(1024),
  path: text(1024).optional(),
  /** The commit the agent enforces; null before the first successful fetch. */
  commit: text(64).nullable(),
  fetchedAt: timestamp.nullable(),
  /** False when the remote could not be reached: the agent keeps enforcing `commit` (SourceUnavailable). */
  reachable: z.boolean(),
  error: ReportError.nullable(),
  /** The last reconcile's outcome; null before the first one. */
  sync: SyncResult.nullable(),
  health: SourceHealth.nullable(),
  drift: z.array(Drift).max(MAX_OBJECTS).default([]),
  /** Staged rollout of the fetched commit, when its strata.yaml declares waves. */
  rollout: z
    .object({
      /** The fetched commit the rollout is about (`commit` above while it waits). */
      commit: text(64),
      wave: count,
      waveName: text(63),
      released: z.boolean(),
      /** The commit the agent enforces meanwhile (its last released one), null when none. */
      enforcing: text(64).nullable(),
      /** `waiting for wave N gate: …` while not released. */
      waiting: text().nullable(),
    })
    .nullable()
    .optional(),
});
export type SourceStatus = z.infer<typeof SourceStatus>;

/**
 * One entry of a preview plan. Deliberately loose: the preview feature owns its shape; the hub
 * only needs `id` and `action` (`create`, `update`, `delete`, `unchanged`, `conflict`) to count.
 */
export const PreviewPlanEntry = z.looseObject({
  id: text(1024),
  action: text(32),
});
export type PreviewPlanEntry = z.infer<typeof PreviewPlanEntry>;

export const PreviewPlan = z.looseObject({
  entries: z.array(PreviewPlanEntry).max(MAX_OBJECTS),
});
export type PreviewPlan = z.infer<typeof PreviewPlan>;

/** A live dry-run plan of one watched pull-request ref (docs/design.md §4); `closed` when the ref is gone. */
export const PreviewStatus = z.object({
  ref: text(1024),
  commit: text(64),
  state: z.enum(['open', 'closed']),
  plannedAt: timestamp.optional(),
  plan: PreviewPlan.nullable().optional(),
  error: ReportError.nullable().optional(),
  /** Closed refs: the commit of the watched branch that is, or merges, this ref's head. */
  mergedAs: text(64).optional(),
  /**
   * This cluster's wave under the rollout rules of the planned commit: where the merge would reach
   * it. Null when that commit declares no waves; absent from agents that predate it.
   */
  wave: z
    .object({ index: count, name: text(63) })
    .nullable()
    .optional(),
});
export type PreviewStatus = z.infer<typeof PreviewStatus>;

/** Served group/versions a report carries at most (a cluster with hundreds of CRD groups still fits). */
export const MAX_REPORTED_API_VERSIONS = 1000;

/**
 * What the agent's discovery says of its API server: the Kubernetes version and served
 * group/versions. `helm template` is told the same, so an offline preview from the hub renders
 * charts as the agent does (`.Capabilities.KubeVersion`, `.Capabilities.APIVersions.Has`).
 */
export const KubeCapabilities = z.object({
  version: text(64),
  apiVersions: z.array(text(256)).max(MAX_REPORTED_API_VERSIONS),
});
export type KubeCapabilities = z.infer<typeof KubeCapabilities>;

export const Report = z.object({
  cluster: ClusterName,
  labels: Labels,
  /** Absent until the agent's first discovery succeeded (and from agents that predate it). */
  kube: KubeCapabilities.optional(),
  /** Monotonic per agent state directory: the hub drops duplicates and never lets an older seq win. */
  seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  /** When the agent produced this report (it may arrive much later from the outbox). */
  createdAt: timestamp.optional(),
  /** How many older reports of the outbox were folded into this one (latest wins). */
  compacted: count.optional(),
  agent: z.object({ version: text(64), startedAt: timestamp }),
  /** Set when the agent trimmed this report to fit the hub's body limit: how much of each section it left out. */
  truncated: z.object({ limitBytes: count, omitted: z.record(text(64), count) }).optional(),
  sources: z.array(SourceStatus).max(REPORT_CONTENT.maxSources),
  previews: z.array(PreviewStatus).max(REPORT_CONTENT.maxPreviews).default([]),
});
/** A report as the hub stores it (defaults filled in). */
export type Report = z.infer<typeof Report>;
/** A report as an agent may write it (fields with defaults may be left out). */
export type ReportInput = z.input<typeof Report>;

/** One validation problem, with the JSON path of the field it is about (`sources[0].sync.phase`). */
export interface ReportIssue {
  path: string;
  message: string;
}

export type ParsedReport = { ok: true; report: Report } | { ok: false; issues: ReportIssue[] };

/** Validates untrusted input against the report schema; issues name the offending fields. */
export function parseReport(input: unknown): ParsedReport {
  const result = Report.safeParse(input);
  if (result.success) return { ok: true, report: result.data };
  return {
    ok: false,
    issues: result.error.issues.map((i) => ({ path: issuePath(i.path), message: i.message })),
  };
}

function issuePath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(report)';
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`))
    .join('');
}

/** One line naming every problem: `seq: Invalid input: expected number, received string; ...`. */
export function describeIssues(issues: ReportIssue[], limit = 10): string {
  const shown = issues.slice(0, limit).map((i) => `${i.path}: ${i.message}`);
  if (issues.length > limit) shown.push(`${issues.length - limit} more`);
  return shown.join('; ');
}

/** The report contract as JSON Schema (draft 2020-12), for non-TypeScript agents and docs. */
export function reportJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(Report, { io: 'input' }) as Record<string, unknown>;
}
