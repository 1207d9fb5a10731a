/**
 * The hub's storage, behind one interface: SQLite (sqlite.ts, one file, one hub) or PostgreSQL
 * (postgres.ts, any number of hub replicas on one database). Plain values only: no database types cross this boundary. Every method is
 * async for that reason, even though SQLite answers synchronously.
 */

import type { HeartbeatResult } from '../../../contract/heartbeat.js';
import type { PreviewStatus, Report } from '../../../contract/report.js';
import type { RolloutRules } from '../../../contract/rollout-rules.js';
import type { LabelSelector } from '../../../contract/selector.js';
import type { RolloutControl } from '../fleet/gate.js';
import type { RolloutState } from '../fleet/rollout.js';
import type { RolloutObservation } from '../fleet/rollout-observe.js';
import type { ClusterHealth, ClusterPhase, ReportSummary } from '../fleet/summary.js';

/** A bearer token of one cluster. Only the hash of the secret is ever stored. */
export interface TokenRecord {
  id: string;
  cluster: string;
  /** SHA-256 of the token's secret part, hex. */
  hash: string;
  createdAt: string;
  revokedAt: string | null;
}

/** A validated report as received, ready to store. */
export interface IncomingReport {
  report: Report;
  summary: ReportSummary;
  /** Receipt time, epoch milliseconds. */
  receivedAt: number;
  /**
   * The token the report came with: when set, the report is stored only if that token still exists
   * unrevoked for `report.cluster`, checked in the transaction that stores it (outcome `revoked`).
   */
  tokenId?: string;
  /** `report` as JSON text, when the caller already has it (stored instead of serialising again). */
  reportJson?: string;
}

/**
 * - `stored`: the report is now the cluster's current state.
 * - `duplicate`: this seq was already stored; nothing changed.
 * - `stale`: older than the current state; kept in history, current state unchanged.
 * - `revoked`: its `tokenId` was revoked (or does not name this cluster); nothing stored.
 */
export type SaveOutcome =
  | { result: 'stored' | 'duplicate' | 'stale'; latestSeq: number }
  | { result: 'revoked'; latestSeq?: undefined };

/** A validated heartbeat as received (contract/heartbeat.ts). */
export interface IncomingHeartbeat {
  cluster: string;
  seq: number;
  /** The seq of the full report it stands for. */
  of: number;
  /** Receipt time, epoch milliseconds: the cluster's new last-seen. */
  receivedAt: number;
  /** As for reports: recorded only while this token exists unrevoked for `cluster`. */
  tokenId?: string;
}

/**
 * `latestSeq` is the seq of the cluster's current full report (absent when it has none). See
 * contract/heartbeat.ts for what each result means.
 */
export type HeartbeatOutcome =
  | { result: HeartbeatResult; latestSeq?: number }
  | { result: 'revoked'; latestSeq?: undefined };

/** What the fleet views show for one cluster (its latest report, summarised). */
export interface ClusterRecord {
  name: string;
  labels: Record<string, string>;
  seq: number;
  receivedAt: number;
  summary: ReportSummary;
}

/** One stored report of a cluster's history, as its summary (the full report is kept for the latest only). */
export interface HistoryEntry {
  seq: number;
  receivedAt: number;
  createdAt: string | null;
  summary: ReportSummary;
  /** False for a late report older than the state it arrived after. */
  applied: boolean;
}

/** The fleet around one ref's previews (Store.previewFleet). */
export interface PreviewFleet {
  /** Every cluster the hub knows, registered or reported. */
  total: number;
  /** Labels of the clusters with a plan of the ref, by name. */
  labels: Record<string, Record<string, string>>;
  /** The first clusters by name with no plan of the ref. */
  silent: { name: string; labels: Record<string, string> }[];
}

/** The latest live plan of one cluster for one preview ref (docs/design.md §4). */
export interface PreviewRecord {
  cluster: string;
  ref: string;
  seq: number;
  receivedAt: number;
  preview: PreviewStatus;
}

/** One cluster in a fleet list: registered by a token, and maybe not reported yet (seq null). */
export interface FleetEntry {
  name: string;
  labels: Record<string, string>;
  seq: number | null;
  receivedAt: number | null;
  summary: ReportSummary | null;
}

/** Which clusters a fleet query covers; all conditions must hold. */
export interface FleetFilter {
  selector: LabelSelector;
  /** Cluster names starting with this. */
  namePrefix?: string;
  phase?: ClusterPhase;
}

/** At most `limit` items after the cluster named `after` (name order). */
export interface PageRequest {
  limit: number;
  after?: string;
}

/** One keyset page of a list in name order. */
export interface Page<T> {
  items: T[];
  /** Where the next page starts (pass as `after`); null on the last page. */
  next: string | null;
}

/** Counts over the clusters a filter covers (its phase condition ignored: counts are by phase). */
export interface FleetCounts {
  total: number;
  phases: Record<ClusterPhase, number>;
  health: Record<ClusterHealth, number>;
  /** Clusters never reported or silent since `staleBefore`. */
  stale: number;
  /** Clusters that have a token but never reported. */
  notReported: number;
  /** The commits most clusters run, most first (at most 10). */
  commits: { commit: string; clusters: number }[];
}

/** How many clusters a commit's rollout has in each state, over the clusters a selector covers. */
export interface RolloutCounts {
  /** The full sha the given abbreviation names; null when no cluster names such a commit. */
  commit: string | null;
  total: number;
  counts: Record<RolloutState, number>;
}

/** A cluster of a commit's rollout, with its state for that commit. */
export type RolloutEntry = FleetEntry & { state: RolloutState };

/** An abbreviated sha that names more than one commit the fleet runs. */
export class AmbiguousCommitError extends Error {
  constructor(
    readonly sha: string,
    readonly commits: string[],
  ) {
    super(`commit "${sha}" is ambiguous: it abbreviates ${commits.join(', ')}; give more characters`);
    this.name = 'AmbiguousCommitError';
  }
}

/** How much report history the store keeps per cluster: a report past either bound is dropped. */
export interface RetentionPolicy {
  /** Reports kept per cluster in history (the newest ones). */
  keepReports: number;
  /** Reports older than this are dropped from history, milliseconds. */
  maxAgeMs: number;
}

/** A rollout as stored: the commit, its rules (as the first agent announced them) and its control state. */
export interface RolloutRecord extends RolloutControl {
  commit: string;
  /** `url#ref[:path]` of the source; a newer commit of the same source supersedes this one. */
  source: string;
  rules: RolloutRules;
  /** SHA-256 of the rules' JSON: agents that announce other rules for the same commit make a conflict. */
  digest: string;
}

/** One entry of a rollout's timeline: what happened, when (epoch milliseconds), and to whom. */
export interface RolloutEvent {
  commit: string;
  at: number;
  /** `started`, `paused`, `resumed`, `aborted`, `approved`, `waived`, `released`, `superseded`, `conflict`. */
  kind: string;
  detail: string;
}

/** What a release manager can do to a rollout (POST /api/v1/rollouts/:sha/:action). */
export type RolloutAction = 'pause' | 'resume' | 'abort' | 'approve' | 'waive';

/** An agent's announcement of a commit's rollout, as the store records it. */
export interface RolloutAnnouncement {
  commit: string;
  source: string;
  rules: RolloutRules;
  /** The digest of `rules`: a second announcement with another digest is a conflict. */
  digest: string;
  /** The announcing cluster. */
  cluster: string;
  at: number;
}

/** The hub's persistence, implemented by the SQLite (sqlite.ts) and PostgreSQL (postgres.ts) stores. */
export interface Store {
  createToken(token: TokenRecord): Promise<void>;
  findToken(id: string): Promise<TokenRecord | undefined>;
  /** Marks the token revoked; false when no such token exists. */
  revokeToken(id: string, at: string): Promise<boolean>;
  listTokens(): Promise<TokenRecord[]>;

  /**
   * Stores a batch of reports atomically and durably: when the promise resolves every report is
   * on disk. Outcomes are in the order of the batch. One batch lets many concurrent reports share
   * one disk flush (group commit).
   */
  saveReports(batch: IncomingReport[]): Promise<SaveOutcome[]>;
  /**
   * Records a batch of heartbeats: each one whose `of` is the cluster's current full report and whose
   * seq is above every seq seen moves the cluster's last-seen (`receivedAt`) to its receipt time. No
   * history row, no count changes. Outcomes are in the order of the batch.
   */
  saveHeartbeats(batch: IncomingHeartbeat[]): Promise<HeartbeatOutcome[]>;

  /**
   * What the preview of `ref` needs of the fleet besides its plans: the fleet's size, the labels of
   * the clusters that planned it, and the first `silentLimit` clusters (by name) that did not.
   */
  previewFleet(ref: string, silentLimit: number): Promise<PreviewFleet>;
  /** Every cluster that reported. Reads the whole fleet: only for small fleets and admin tools. */
  listClusters(): Promise<ClusterRecord[]>;
  /** One page of the clusters a filter covers, registered and reported alike, in name order. */
  listFleet(filter: FleetFilter, page: PageRequest): Promise<Page<FleetEntry>>;
  /** Counts by phase, health, commit and staleness, computed by the database. */
  countFleet(filter: FleetFilter, staleBefore: number): Promise<FleetCounts>;
  /**
   * A commit's rollout counts over the clusters a selector covers (registered but silent clusters
   * only without a selector). Throws AmbiguousCommitError for an abbreviation of several commits.
   */
  rolloutCounts(sha: string, selector: LabelSelector): Promise<RolloutCounts>;
  /** One page of a commit's rollout (`commit` as resolved by rolloutCounts), optionally in one state. */
  listRollout(
    commit: string | null,
    filter: { selector: LabelSelector; state?: RolloutState },
    page: PageRequest,
  ): Promise<Page<RolloutEntry>>;
  getCluster(name: string): Promise<{ record: ClusterRecord; report: Report } | undefined>;
  /** Highest seq first, at most the retention policy's `keepReports`; `beforeSeq` pages on. */
  history(cluster: string, limit: number, beforeSeq?: number): Promise<HistoryEntry[]>;
  /** Names of clusters that have a token but may never have reported. */
  knownClusterNames(): Promise<string[]>;

  /** Latest plan per cluster for every ref, or for one ref. */
  listPreviews(filter?: { ref?: string }): Promise<PreviewRecord[]>;

  /**
   * Records an agent's announcement of a commit's rollout: creates it (superseding the older
   * rollouts of the same source) or, when the rules differ from the stored ones, marks a conflict.
   */
  announceRollout(a: RolloutAnnouncement): Promise<RolloutRecord>;
  getRollout(commit: string): Promise<RolloutRecord | undefined>;
  /** Newest first. */
  listRollouts(limit: number): Promise<RolloutRecord[]>;
  /** Every cluster's observation on the commit (clusters never observed are absent). */
  rolloutObservations(commit: string): Promise<Map<string, RolloutObservation>>;
  /**
   * Commits a release the gate decided. A cluster released (or applied) before keeps its release:
   * true. Otherwise false, and nothing written, when the rollout was paused, aborted, superseded or
   * put in conflict since it was read: the stop wins over a release computed before it, on any
   * replica. Otherwise true, and with `record` it sets the cluster's `releasedAt` (wave 0 only
   * checks, since its clusters are released from the start).
   */
  markReleased(commit: string, cluster: string, at: number, opts: { record: boolean }): Promise<boolean>;
  /** Applies a release manager's action; undefined when no such rollout exists. */
  controlRollout(
    commit: string,
    action: RolloutAction,
    at: number,
    detail: { wave?: number; by?: string },
  ): Promise<RolloutRecord | undefined>;
  rolloutEvents(commit: string): Promise<RolloutEvent[]>;

  /** Applies the retention policy to history now; returns how many reports were dropped. */
  pruneHistory(now: number): Promise<number>;
  /**
   * Claims the lease `name` for `holder` until `now + ttlMs`, when it is free or expired: true when
   * claimed. Periodic work that must run once for all hubs sharing the database (history retention)
   * runs only in the hub holding it.
   */
  claimLease(name: string, holder: string, now: number, ttlMs: number): Promise<boolean>;
  close(): Promise<void>;
}
