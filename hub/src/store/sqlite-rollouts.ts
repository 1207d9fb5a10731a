/**
 * Rollout state in SQLite: the rollouts (rules and control), per-cluster observations and the
 * event timeline. Observations are folded by the report writer (sqlite-writes.ts) in the
 * transaction that stores each report; everything else is written here, on the main connection.
 */
import type Database from 'better-sqlite3';
import type { RolloutRules } from '../../../contract/rollout-rules.js';
import type { RolloutObservation } from '../fleet/rollout-observe.js';
import type { RolloutAction, RolloutEvent, RolloutRecord } from './store.js';

export const ROLLOUT_SCHEMA = `
CREATE TABLE rollouts (
  commit_sha TEXT PRIMARY KEY, source TEXT NOT NULL, rules TEXT NOT NULL, digest TEXT NOT NULL,
  started_at INTEGER NOT NULL, paused_at INTEGER, aborted_at INTEGER,
  approvals TEXT NOT NULL DEFAULT '{}', superseded_by TEXT, conflict TEXT);
CREATE INDEX rollouts_by_source ON rollouts (source, started_at);
CREATE TABLE rollout_clusters (
  commit_sha TEXT NOT NULL, cluster TEXT NOT NULL, applied_at INTEGER, healthy_since INTEGER,
  first_healthy_at INTEGER, failed_at INTEGER, released_at INTEGER, PRIMARY KEY (commit_sha, cluster));
CREATE TABLE rollout_events (
  id INTEGER PRIMARY KEY, commit_sha TEXT NOT NULL, at INTEGER NOT NULL, kind TEXT NOT NULL,
  detail TEXT NOT NULL);
CREATE INDEX rollout_events_by_commit ON rollout_events (commit_sha, id);
`;

const EVENT_OF: Record<RolloutAction, string> = {
  pause: 'paused',
  resume: 'resumed',
  abort: 'aborted',
  approve: 'approved',
};

interface RolloutRow {
  commit_sha: string;
  source: string;
  rules: string;
  digest: string;
  started_at: number;
  paused_at: number | null;
  aborted_at: number | null;
  approvals: string;
  superseded_by: string | null;
  conflict: string | null;
}

export interface ObservationRow {
  cluster: string;
  applied_at: number | null;
  healthy_since: number | null;
  first_healthy_at: number | null;
  failed_at: number | null;
  released_at: number | null;
}

export function toObservation(row: ObservationRow | undefined): RolloutObservation | undefined {
  return (
    row && {
      appliedAt: row.applied_at,
      healthySince: row.healthy_since,
      firstHealthyAt: row.first_healthy_at,
      failedAt: row.failed_at,
      releasedAt: row.released_at,
    }
  );
}

function toRecord(row: RolloutRow): RolloutRecord {
  return {
    commit: row.commit_sha,
    source: row.source,
    rules: JSON.parse(row.rules) as RolloutRules,
    digest: row.digest,
    startedAt: row.started_at,
    pausedAt: row.paused_at,
    abortedAt: row.aborted_at,
    approvals: JSON.parse(row.approvals) as Record<string, number>,
    supersededBy: row.superseded_by,
    conflict: row.conflict,
  };
}

export class SqliteRollouts {
  private readonly sql;
  private readonly announceTx;
  private readonly controlTx;

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
      event: db.prepare('INSERT INTO rollout_events (commit_sha, at, kind, detail) VALUES (?, ?, ?, ?)'),
      events: db.prepare<[string], { commit_sha: string; at: number; kind: string; detail: string }>(
        'SELECT commit_sha, at, kind, detail FROM rollout_events WHERE commit_sha = ? ORDER BY id',
      ),
    };
    this.announceTx = db.transaction(
      (a: {
        commit: string;
        source: string;
        rules: RolloutRules;
        digest: string;
        cluster: string;
        at: number;
      }) => {
        const row = this.sql.get.get(a.commit);
        if (!row) {
          this.sql.insert.run(a.commit, a.source, JSON.stringify(a.rules), a.digest, a.at);
          this.sql.event.run(a.commit, a.at, 'started', `announced by ${a.cluster}`);
          for (const old of this.sql.superseded.all(a.source, a.commit)) {
            this.sql.event.run(old.commit_sha, a.at, 'superseded', `by ${a.commit.slice(0, 12)}`);
          }
          this.sql.supersede.run(a.commit, a.source, a.commit);
        } else if (row.digest !== a.digest && row.conflict === null) {
          const why = `${a.cluster} announced other rules for this commit than the first agent did: halted until the agents agree (check their source and path)`;
          this.sql.conflict.run(why, a.commit);
          this.sql.event.run(a.commit, a.at, 'conflict', why);
        }
        return toRecord(this.sql.get.get(a.commit)!);
      },
    );
    this.controlTx = db.transaction(
      (commit: string, action: RolloutAction, at: number, detail: { wave?: number; by?: string }) => {
        const row = this.sql.get.get(commit);
        if (!row) return undefined;
        const by = detail.by ? ` by ${detail.by}` : '';
        if (action === 'pause') this.sql.setPaused.run(row.paused_at ?? at, commit);
        if (action === 'resume') this.sql.setPaused.run(null, commit);
        if (action === 'abort') this.sql.setAborted.run(at, commit);
        if (action === 'approve') {
          const approvals = JSON.parse(row.approvals) as Record<string, number>;
          approvals[String(detail.wave)] ??= at;
          this.sql.setApprovals.run(JSON.stringify(approvals), commit);
        }
        const what = action === 'approve' ? `wave ${detail.wave}${by}` : by.trim();
        this.sql.event.run(commit, at, EVENT_OF[action], what);
        return toRecord(this.sql.get.get(commit)!);
      },
    );
  }

  announce(a: Parameters<SqliteRollouts['announceTx']>[0]): RolloutRecord {
    return this.announceTx(a);
  }

  get(commit: string): RolloutRecord | undefined {
    const row = this.sql.get.get(commit);
    return row && toRecord(row);
  }

  list(limit: number): RolloutRecord[] {
    return this.sql.list.all(limit).map(toRecord);
  }

  observations(commit: string): Map<string, RolloutObservation> {
    return new Map(this.sql.observations.all(commit).map((r) => [r.cluster, toObservation(r)!]));
  }

  markReleased(commit: string, cluster: string, at: number): void {
    if (this.sql.release.run(commit, cluster, at).changes > 0)
      this.sql.event.run(commit, at, 'released', cluster);
  }

  control(commit: string, action: RolloutAction, at: number, detail: { wave?: number; by?: string }) {
    return this.controlTx(commit, action, at, detail);
  }

  events(commit: string): RolloutEvent[] {
    return this.sql.events
      .all(commit)
      .map((e) => ({ commit: e.commit_sha, at: e.at, kind: e.kind, detail: e.detail }));
  }
}
