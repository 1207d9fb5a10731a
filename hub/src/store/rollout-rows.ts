/**
 * The rollout tables of both SQL stores, the rows they read back and the timeline entries they write:
 * the tables have the same columns in SQLite and PostgreSQL (sqlite-rollouts.ts, postgres-rollouts.ts),
 * so the schema, a record, an observation and an event's wording are made once, here.
 */
import type { RolloutRules } from '../../../contract/rollout-rules.js';
import type { RolloutObservation } from '../fleet/rollout-observe.js';
import type { RolloutAction, RolloutEvent, RolloutRecord } from './store.js';

/** The column types that differ between the dialects: epoch milliseconds, a cluster name, an event id. */
export interface RolloutColumnTypes {
  time: 'INTEGER' | 'BIGINT';
  cluster: 'TEXT' | 'TEXT COLLATE "C"';
  eventId: 'INTEGER PRIMARY KEY' | 'BIGSERIAL PRIMARY KEY';
}

/** Schema version 4, the rollout tables, in a dialect's column types: one set of columns for both. */
export function rolloutSchema(t: RolloutColumnTypes): string {
  return `
CREATE TABLE rollouts (
  commit_sha TEXT PRIMARY KEY, source TEXT NOT NULL, rules TEXT NOT NULL, digest TEXT NOT NULL,
  started_at ${t.time} NOT NULL, paused_at ${t.time}, aborted_at ${t.time},
  approvals TEXT NOT NULL DEFAULT '{}', superseded_by TEXT, conflict TEXT);
CREATE INDEX rollouts_by_source ON rollouts (source, started_at);
CREATE TABLE rollout_clusters (
  commit_sha TEXT NOT NULL, cluster ${t.cluster} NOT NULL, applied_at ${t.time}, healthy_since ${t.time},
  first_healthy_at ${t.time}, failed_at ${t.time}, released_at ${t.time}, PRIMARY KEY (commit_sha, cluster));
CREATE TABLE rollout_events (
  id ${t.eventId}, commit_sha TEXT NOT NULL, at ${t.time} NOT NULL, kind TEXT NOT NULL,
  detail TEXT NOT NULL);
CREATE INDEX rollout_events_by_commit ON rollout_events (commit_sha, id);
`;
}

/** A row of `rollouts`. */
export interface RolloutRow {
  commit_sha: string;
  source: string;
  rules: string;
  digest: string;
  started_at: number;
  paused_at: number | null;
  aborted_at: number | null;
  approvals: string;
  /** Version 7. */
  waivers: string;
  superseded_by: string | null;
  conflict: string | null;
}

/** A row of `rollout_clusters`: one cluster's observation of one rollout. */
export interface ObservationRow {
  cluster: string;
  applied_at: number | null;
  healthy_since: number | null;
  first_healthy_at: number | null;
  failed_at: number | null;
  released_at: number | null;
}

/** A row of `rollout_events`. */
export interface EventRow {
  commit_sha: string;
  at: number;
  kind: string;
  detail: string;
}

/** Paused, aborted, superseded or in conflict: a rollout that releases nobody new. */
export function stopsReleases(row: RolloutRow): boolean {
  return (
    row.paused_at !== null || row.aborted_at !== null || row.superseded_by !== null || row.conflict !== null
  );
}

/** A rollout as the store answers it. */
export function toRolloutRecord(row: RolloutRow): RolloutRecord {
  return {
    commit: row.commit_sha,
    source: row.source,
    rules: JSON.parse(row.rules) as RolloutRules,
    digest: row.digest,
    startedAt: row.started_at,
    pausedAt: row.paused_at,
    abortedAt: row.aborted_at,
    approvals: JSON.parse(row.approvals) as Record<string, number>,
    waivers: JSON.parse(row.waivers) as Record<string, number>,
    supersededBy: row.superseded_by,
    conflict: row.conflict,
  };
}

/** A cluster's observation as the fold of fleet/rollout-observe.ts takes it. */
export function toObservation(row: ObservationRow): RolloutObservation {
  return {
    appliedAt: row.applied_at,
    healthySince: row.healthy_since,
    firstHealthyAt: row.first_healthy_at,
    failedAt: row.failed_at,
    releasedAt: row.released_at,
  };
}

/** A timeline entry as the store answers it. */
export function toRolloutEvent(row: EventRow): RolloutEvent {
  return { commit: row.commit_sha, at: row.at, kind: row.kind, detail: row.detail };
}

/** The timeline kind a release manager's action records. */
export const EVENT_OF: Record<RolloutAction, string> = {
  pause: 'paused',
  resume: 'resumed',
  abort: 'aborted',
  approve: 'approved',
  waive: 'waived',
};

/** The timeline detail of a release manager's action: the wave approved or waived and who acted, if known. */
export function controlDetail(action: RolloutAction, detail: { wave?: number; by?: string }): string {
  const by = detail.by ? ` by ${detail.by}` : '';
  return action === 'approve' || action === 'waive' ? `wave ${detail.wave}${by}` : by.trim();
}

/** A control field that maps wave indexes to times (approvals, waivers), with `wave` set once. */
export function withWave(json: string, wave: number | undefined, at: number): string {
  const map = JSON.parse(json) as Record<string, number>;
  map[String(wave)] ??= at;
  return JSON.stringify(map);
}

/** Why a rollout halts when a second agent announces other rules for its commit. */
export function conflictReason(cluster: string): string {
  return `${cluster} announced other rules for this commit than the first agent did: halted until the agents agree (check their source and path)`;
}

/** The timeline detail of an older rollout that a newer commit of its source superseded. */
export function supersededDetail(commit: string): string {
  return `by ${commit.slice(0, 12)}`;
}

/** The timeline kinds a fold reached for the first time: applied, healthy, failed (in that order). */
export function firstTimeEvents(before: RolloutObservation, after: RolloutObservation): string[] {
  const steps: [string, number | null, number | null][] = [
    ['applied', before.appliedAt, after.appliedAt],
    ['healthy', before.healthySince, after.healthySince],
    ['failed', before.failedAt, after.failedAt],
  ];
  return steps.filter(([, was, is]) => was === null && is !== null).map(([kind]) => kind);
}
