/**
 * Rollout state in SQLite: the rollouts (rules and control), per-cluster observations and the
 * event timeline. Observations are folded by the report writer (sqlite-writes.ts) in the
 * transaction that stores each report; everything else is written here, on the main connection.
 */
import type Database from 'better-sqlite3';
import type { RolloutObservation } from '../fleet/rollout-observe.js';
import {
  conflictReason,
  controlDetail,
  EVENT_OF,
  type EventRow,
  type ObservationRow,
  type RolloutRow,
  rolloutSchema,
  stopsReleases,
  supersededDetail,
  toObservation,
  toRolloutEvent,
  toRolloutRecord,
  withWave,
} from './rollout-rows.js';
import type { RolloutAction, RolloutAnnouncement, RolloutEvent, RolloutRecord } from './store.js';

/** Schema version 4 in SQLite: integer times and event ids, names in SQLite's byte order. */
export const ROLLOUT_SCHEMA = rolloutSchema({
  time: 'INTEGER',
  cluster: 'TEXT',
  eventId: 'INTEGER PRIMARY KEY',
});

/** Rollout state in SQLite: announcements and control actions each in one transaction, on prepared statements. */
export class SqliteRollouts {
  private readonly sql;
  private readonly announceTx;
  private readonly controlTx;
  private readonly releaseTx;

  constructor(db: Database.Database) {
    this.sql = {
      get: db.prepare<[string], RolloutRow>('SELECT * FROM rollouts WHERE commit_sha = ?'),
      list: db.prepare<[number], RolloutRow>(
        'SELECT * FROM rollouts ORDER BY started_at DESC, commit_sha LIMIT ?',
      ),
      insert: db.prepare(
        'INSERT INTO rollouts (commit_sha, source, rules, digest, started_at) VALUES (?, ?, ?, ?, ?)',
      ),
      supersede: db.prepare(
        'UPDATE rollouts SET superseded_by = ? WHERE source = ? AND commit_sha != ? AND superseded_by IS NULL',
      ),
      superseded: db.prepare<[string, string], { commit_sha: string }>(
        'SELECT commit_sha FROM rollouts WHERE source = ? AND commit_sha != ? AND superseded_by IS NULL',
      ),
      conflict: db.prepare('UPDATE rollouts SET conflict = ? WHERE commit_sha = ? AND conflict IS NULL'),
      observations: db.prepare<[string], ObservationRow>(
        'SELECT cluster, applied_at, healthy_since, first_healthy_at, failed_at, released_at FROM rollout_clusters WHERE commit_sha = ?',
      ),
      released: db.prepare<[string, string], { released_at: number | null; applied_at: number | null }>(
        'SELECT released_at, applied_at FROM rollout_clusters WHERE commit_sha = ? AND cluster = ?',
      ),
      release: db.prepare(
        `INSERT INTO rollout_clusters (commit_sha, cluster, released_at) VALUES (?, ?, ?)
         ON CONFLICT (commit_sha, cluster) DO UPDATE SET released_at = excluded.released_at
         WHERE rollout_clusters.released_at IS NULL`,
      ),
      setPaused: db.prepare('UPDATE rollouts SET paused_at = ? WHERE commit_sha = ?'),
      setAborted: db.prepare(
        'UPDATE rollouts SET aborted_at = ? WHERE commit_sha = ? AND aborted_at IS NULL',
      ),
      setApprovals: db.prepare('UPDATE rollouts SET approvals = ? WHERE commit_sha = ?'),
      setWaivers: db.prepare('UPDATE rollouts SET waivers = ? WHERE commit_sha = ?'),
      event: db.prepare('INSERT INTO rollout_events (commit_sha, at, kind, detail) VALUES (?, ?, ?, ?)'),
      events: db.prepare<[string], EventRow>(
        'SELECT commit_sha, at, kind, detail FROM rollout_events WHERE commit_sha = ? ORDER BY id',
      ),
    };
    this.announceTx = db.transaction((a: RolloutAnnouncement) => {
      const row = this.sql.get.get(a.commit);
      if (!row) {
        this.sql.insert.run(a.commit, a.source, JSON.stringify(a.rules), a.digest, a.at);
        this.sql.event.run(a.commit, a.at, 'started', `announced by ${a.cluster}`);
        for (const old of this.sql.superseded.all(a.source, a.commit)) {
          this.sql.event.run(old.commit_sha, a.at, 'superseded', supersededDetail(a.commit));
        }
        this.sql.supersede.run(a.commit, a.source, a.commit);
      } else if (row.digest !== a.digest && row.conflict === null) {
        const why = conflictReason(a.cluster);
        this.sql.conflict.run(why, a.commit);
        this.sql.event.run(a.commit, a.at, 'conflict', why);
      }
      return toRolloutRecord(this.sql.get.get(a.commit)!);
    });
    this.releaseTx = db.transaction((commit: string, cluster: string, at: number, record: boolean) => {
      const row = this.sql.get.get(commit);
      if (!row) return false;
      const before = this.sql.released.get(commit, cluster);
      if (before && (before.released_at !== null || before.applied_at !== null)) return true;
      if (stopsReleases(row)) return false;
      if (record && this.sql.release.run(commit, cluster, at).changes > 0)
        this.sql.event.run(commit, at, 'released', cluster);
      return true;
    });
    this.controlTx = db.transaction(
      (commit: string, action: RolloutAction, at: number, detail: { wave?: number; by?: string }) => {
        const row = this.sql.get.get(commit);
        if (!row) return undefined;
        if (action === 'pause') this.sql.setPaused.run(row.paused_at ?? at, commit);
        if (action === 'resume') this.sql.setPaused.run(null, commit);
        if (action === 'abort') this.sql.setAborted.run(at, commit);
        if (action === 'approve') this.sql.setApprovals.run(withWave(row.approvals, detail.wave, at), commit);
        if (action === 'waive') this.sql.setWaivers.run(withWave(row.waivers, detail.wave, at), commit);
        this.sql.event.run(commit, at, EVENT_OF[action], controlDetail(action, detail));
        return toRolloutRecord(this.sql.get.get(commit)!);
      },
    );
  }

  announce(a: RolloutAnnouncement): RolloutRecord {
    return this.announceTx(a);
  }

  get(commit: string): RolloutRecord | undefined {
    const row = this.sql.get.get(commit);
    return row && toRolloutRecord(row);
  }

  list(limit: number): RolloutRecord[] {
    return this.sql.list.all(limit).map(toRolloutRecord);
  }

  observations(commit: string): Map<string, RolloutObservation> {
    return new Map(this.sql.observations.all(commit).map((r) => [r.cluster, toObservation(r)]));
  }

  markReleased(commit: string, cluster: string, at: number, opts: { record: boolean }): boolean {
    return this.releaseTx(commit, cluster, at, opts.record);
  }

  control(commit: string, action: RolloutAction, at: number, detail: { wave?: number; by?: string }) {
    return this.controlTx(commit, action, at, detail);
  }

  events(commit: string): RolloutEvent[] {
    return this.sql.events.all(commit).map(toRolloutEvent);
  }
}
