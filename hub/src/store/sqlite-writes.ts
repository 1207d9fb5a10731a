/**
 * Writing reports: one transaction per batch (one fsync: group commit), one savepoint per report so a
 * failing report cannot undo the others. Works on pre-serialised rows so it can run on the writer
 * thread as well as inline.
 */
import type Database from 'better-sqlite3';
import { heartbeatResult } from '../fleet/heartbeat.js';
import {
  type CommitStanding,
  EMPTY_OBSERVATION,
  observe,
  sameObservation,
} from '../fleet/rollout-observe.js';
import { firstTimeEvents, type ObservationRow, toObservation } from './rollout-rows.js';
import type { HeartbeatOutcome, IncomingHeartbeat, RetentionPolicy, SaveOutcome } from './store.js';

/** A report ready to write: JSON already serialised (cheap to hand to another thread). */
export interface ReportRow {
  cluster: string;
  seq: number;
  receivedAt: number;
  createdAt: string | null;
  labels: string;
  summary: string;
  report: string;
  previews: { ref: string; preview: string }[];
  /** `[[commit, rolloutState], …]` as JSON (fleet/rollout.ts rolloutStates). */
  rollout: string;
  /** Store only if this token is unrevoked and belongs to `cluster` (checked in the transaction). */
  tokenId: string | null;
  /** `[commit, standing]` pairs to fold into rollout observations, as JSON; '' when the report has none. */
  rollouts: string;
}

/**
 * A batch of rows as one string, for the writer thread: posting one flat string costs far less than
 * the structured clone of an array of objects. Fields are separated by NUL, which no field can hold:
 * the JSON ones escape it, cluster names, timestamps and token ids cannot contain it, and a preview
 * ref is sent JSON-encoded.
 */
export function encodeRows(rows: ReportRow[]): string {
  const parts: string[] = [String(rows.length)];
  for (const r of rows) {
    parts.push(
      r.cluster,
      String(r.seq),
      String(r.receivedAt),
      r.createdAt ?? '',
      r.labels,
      r.summary,
      r.report,
      r.rollout,
    );
    parts.push(r.tokenId ?? '', r.rollouts, String(r.previews.length));
    for (const p of r.previews) parts.push(JSON.stringify(p.ref), p.preview);
  }
  return parts.join(SEPARATOR);
}

const SEPARATOR = '\u0000';

/** The rows `encodeRows` wrote; throws on a batch of the wrong shape or with fields left over. */
export function decodeRows(text: string): ReportRow[] {
  const f = text.split(SEPARATOR);
  let at = 0;
  const count = Number(f[at++]);
  const rows: ReportRow[] = [];
  for (let i = 0; i < count; i++) {
    const row: ReportRow = {
      cluster: f[at++]!,
      seq: Number(f[at++]),
      receivedAt: Number(f[at++]),
      createdAt: f[at++] || null,
      labels: f[at++]!,
      summary: f[at++]!,
      report: f[at++]!,
      rollout: f[at++]!,
      tokenId: f[at++] || null,
      rollouts: f[at++]!,
      previews: [],
    };
    const previews = Number(f[at++]);
    for (let j = 0; j < previews; j++)
      row.previews.push({ ref: JSON.parse(f[at++]!) as string, preview: f[at++]! });
    rows.push(row);
  }
  if (at !== f.length) throw new Error(`malformed row batch: ${f.length - at} fields left over`);
  return rows;
}

/** Heartbeats as one string for the writer thread, as `encodeRows` does for reports. */
export function encodeHeartbeats(batch: IncomingHeartbeat[]): string {
  const parts: string[] = [];
  for (const h of batch)
    parts.push(h.cluster, String(h.seq), String(h.of), String(h.receivedAt), h.tokenId ?? '');
  return parts.join(SEPARATOR);
}

/** The heartbeats `encodeHeartbeats` wrote; throws on a batch of the wrong shape. */
export function decodeHeartbeats(text: string): IncomingHeartbeat[] {
  const f = text === '' ? [] : text.split(SEPARATOR);
  if (f.length % 5 !== 0) throw new Error(`malformed heartbeat batch: ${f.length} fields`);
  const batch: IncomingHeartbeat[] = [];
  for (let at = 0; at < f.length; at += 5) {
    const tokenId = f[at + 4]!;
    batch.push({
      cluster: f[at]!,
      seq: Number(f[at + 1]),
      of: Number(f[at + 2]),
      receivedAt: Number(f[at + 3]),
      ...(tokenId === '' ? {} : { tokenId }),
    });
  }
  return batch;
}

/** What a batch answers, per row: its outcome, or the message of the error that stopped it. */
export type RowResult = SaveOutcome | { error: string };

/** The SQLite report and heartbeat writer, inline or on the writer thread: one transaction per batch. */
export class ReportWrites {
  private readonly sql;
  private readonly saveOne;
  private readonly saveBatch;
  private readonly heartbeatBatch;
  /** History is trimmed every this many reports of a cluster (reads never show more than the policy keeps). */
  private readonly trimEvery: number;

  constructor(
    db: Database.Database,
    private readonly retention: RetentionPolicy,
  ) {
    this.trimEvery = Math.max(1, Math.min(16, retention.keepReports));
    this.sql = {
      token: db.prepare<[string], { cluster: string; revoked_at: string | null }>(
        'SELECT cluster, revoked_at FROM tokens WHERE id = ?',
      ),
      clusterSeq: db.prepare<[string], { seq: number | null }>('SELECT seq FROM clusters WHERE name = ?'),
      clusterSeen: db.prepare<[string], { seq: number | null; seen: number | null }>(
        'SELECT seq, seen_seq AS seen FROM clusters WHERE name = ?',
      ),
      markSeen: db.prepare(
        'UPDATE clusters SET seen_seq = ?, received_at = max(received_at, ?) WHERE name = ?',
      ),
      hasSeq: db.prepare<[string, number], { id: number }>(
        'SELECT id FROM reports WHERE cluster = ? AND seq = ?',
      ),
      insertHistory: db.prepare(
        'INSERT INTO reports (cluster, seq, received_at, created_at, applied, summary) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      upsertCluster: db.prepare(
        `INSERT INTO clusters (name, labels, seq, received_at, summary, report, phase, health, commit_sha, rollout)
         VALUES (@name, @labels, @seq, @receivedAt, @summary, @report, json_extract(@summary, '$.phase'),
           json_extract(@summary, '$.health'), json_extract(@summary, '$.commit'), @rollout)
         ON CONFLICT (name) DO UPDATE SET labels = excluded.labels, seq = excluded.seq,
           received_at = excluded.received_at, summary = excluded.summary, report = excluded.report,
           phase = excluded.phase, health = excluded.health, commit_sha = excluded.commit_sha,
           rollout = excluded.rollout`,
      ),
      upsertPreview: db.prepare(
        `INSERT INTO previews (cluster, ref, seq, received_at, preview) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (cluster, ref) DO UPDATE SET seq = excluded.seq, received_at = excluded.received_at,
           preview = excluded.preview`,
      ),
      rolloutExists: db.prepare<[string], { n: number }>('SELECT 1 AS n FROM rollouts WHERE commit_sha = ?'),
      observation: db.prepare<[string, string], ObservationRow>(
        'SELECT cluster, applied_at, healthy_since, first_healthy_at, failed_at, released_at FROM rollout_clusters WHERE commit_sha = ? AND cluster = ?',
      ),
      upsertObservation: db.prepare(
        `INSERT INTO rollout_clusters (commit_sha, cluster, applied_at, healthy_since, first_healthy_at, failed_at)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (commit_sha, cluster) DO UPDATE SET
           applied_at = excluded.applied_at, healthy_since = excluded.healthy_since,
           first_healthy_at = excluded.first_healthy_at, failed_at = excluded.failed_at`,
      ),
      rolloutEvent: db.prepare(
        'INSERT INTO rollout_events (commit_sha, at, kind, detail) VALUES (?, ?, ?, ?)',
      ),
      trimHistory: db.prepare(
        `DELETE FROM reports WHERE cluster = ? AND seq <= (
           SELECT seq FROM reports WHERE cluster = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`,
      ),
    };
    this.saveOne = db.transaction((row: ReportRow) => this.write(row));
    this.saveBatch = db.transaction((rows: ReportRow[]) => rows.map((row) => this.guarded(row)));
    this.heartbeatBatch = db.transaction((batch: IncomingHeartbeat[]) => batch.map((h) => this.beat(h)));
  }

  save(rows: ReportRow[]): RowResult[] {
    return this.saveBatch(rows);
  }

  saveHeartbeats(batch: IncomingHeartbeat[]): HeartbeatOutcome[] {
    return this.heartbeatBatch(batch);
  }

  private beat(h: IncomingHeartbeat): HeartbeatOutcome {
    if (h.tokenId !== undefined && !this.tokenValid(h.tokenId, h.cluster)) return { result: 'revoked' };
    const row = this.sql.clusterSeen.get(h.cluster);
    const current = row?.seq ?? null;
    const latest = current === null ? {} : { latestSeq: current };
    const result = heartbeatResult(current, row?.seen ?? null, h);
    if (result === 'alive') this.sql.markSeen.run(h.seq, h.receivedAt, h.cluster);
    return { result, ...latest };
  }

  private tokenValid(tokenId: string, cluster: string): boolean {
    const token = this.sql.token.get(tokenId);
    return token !== undefined && token.revoked_at === null && token.cluster === cluster;
  }

  private guarded(row: ReportRow): RowResult {
    try {
      return this.saveOne(row);
    } catch (err) {
      return { error: err instanceof Error ? err.message : String(err) };
    }
  }

  private write(row: ReportRow): SaveOutcome {
    if (row.tokenId !== null && !this.tokenValid(row.tokenId, row.cluster)) return { result: 'revoked' };
    const latest = this.sql.clusterSeq.get(row.cluster)?.seq ?? undefined;
    const applied = latest === undefined || row.seq > latest;
    // Only a seq at or below the latest can already be in history.
    if (!applied && (latest === row.seq || this.sql.hasSeq.get(row.cluster, row.seq))) {
      return { result: 'duplicate', latestSeq: latest };
    }
    this.sql.insertHistory.run(
      row.cluster,
      row.seq,
      row.receivedAt,
      row.createdAt,
      applied ? 1 : 0,
      row.summary,
    );
    if (row.seq % this.trimEvery === 0 || !applied) {
      this.sql.trimHistory.run(row.cluster, row.cluster, this.retention.keepReports);
    }
    if (!applied) return { result: 'stale', latestSeq: latest! };
    this.sql.upsertCluster.run({
      name: row.cluster,
      labels: row.labels,
      seq: row.seq,
      receivedAt: row.receivedAt,
      summary: row.summary,
      report: row.report,
      rollout: row.rollout,
    });
    for (const p of row.previews)
      this.sql.upsertPreview.run(row.cluster, p.ref, row.seq, row.receivedAt, p.preview);
    if (row.rollouts !== '') this.observeRollouts(row);
    return { result: 'stored', latestSeq: row.seq };
  }

  /** Folds the report into the cluster's observation of each rollout it touches (fleet/rollout-observe.ts). */
  private observeRollouts(row: ReportRow): void {
    for (const [commit, standing] of JSON.parse(row.rollouts) as [string, CommitStanding | null][]) {
      if (!this.sql.rolloutExists.get(commit)) continue;
      const found = this.sql.observation.get(commit, row.cluster);
      const before = found ? toObservation(found) : EMPTY_OBSERVATION;
      const after = observe(before, standing, row.receivedAt);
      if (sameObservation(before, after)) continue;
      this.sql.upsertObservation.run(
        commit,
        row.cluster,
        after.appliedAt,
        after.healthySince,
        after.firstHealthyAt,
        after.failedAt,
      );
      for (const kind of firstTimeEvents(before, after))
        this.sql.rolloutEvent.run(commit, row.receivedAt, kind, row.cluster);
    }
  }
}
