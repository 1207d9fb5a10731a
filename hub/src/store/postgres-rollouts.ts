/**
 * Rollout state in PostgreSQL: the same tables and meaning as sqlite-rollouts.ts. Announcements and
 * control actions lock the rollout row, so replicas apply them one at a time; observations are
 * folded (fleet/rollout-observe.ts, the same pure function as SQLite's writer) under the
 * observation's row lock, and only while the report is still its cluster's latest, so two replicas
 * storing reports of one cluster out of order cannot fold them out of order.
 */
import type pg from 'pg';
import {
  type CommitStanding,
  EMPTY_OBSERVATION,
  observe,
  type RolloutObservation,
  rolloutPairs,
  sameObservation,
} from '../fleet/rollout-observe.js';
import { inTransaction } from './postgres-tx.js';
import {
  conflictReason,
  controlDetail,
  EVENT_OF,
  type EventRow,
  firstTimeEvents,
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
import type {
  IncomingReport,
  RolloutAction,
  RolloutAnnouncement,
  RolloutEvent,
  RolloutRecord,
  SaveOutcome,
} from './store.js';

/** Schema version 4 in PostgreSQL: 64-bit times, names in the "C" collation, a BIGSERIAL event id. */
export const POSTGRES_ROLLOUT_SCHEMA = rolloutSchema({
  time: 'BIGINT',
  cluster: 'TEXT COLLATE "C"',
  eventId: 'BIGSERIAL PRIMARY KEY',
});

/** Rollout state in PostgreSQL: every write in a transaction of its own, locking the rows it decides on. */
export class PostgresRollouts {
  constructor(private readonly pool: pg.Pool) {}

  announce(a: RolloutAnnouncement): Promise<RolloutRecord> {
    return inTransaction(this.pool, async (c) => {
      // One announcement of a new commit at a time per source, so superseding is decided once.
      await c.query(`SELECT pg_advisory_xact_lock(hashtext('strata-rollout ' || $1))`, [a.source]);
      const found = await c.query<RolloutRow>('SELECT * FROM rollouts WHERE commit_sha = $1 FOR UPDATE', [
        a.commit,
      ]);
      const row = found.rows[0];
      const event = (commit: string, kind: string, detail: string) =>
        c.query('INSERT INTO rollout_events (commit_sha, at, kind, detail) VALUES ($1, $2, $3, $4)', [
          commit,
          a.at,
          kind,
          detail,
        ]);
      if (!row) {
        await c.query(
          'INSERT INTO rollouts (commit_sha, source, rules, digest, started_at) VALUES ($1, $2, $3, $4, $5)',
          [a.commit, a.source, JSON.stringify(a.rules), a.digest, a.at],
        );
        await event(a.commit, 'started', `announced by ${a.cluster}`);
        const old = await c.query<{ commit_sha: string }>(
          `UPDATE rollouts SET superseded_by = $1 WHERE source = $2 AND commit_sha <> $1 AND superseded_by IS NULL
           RETURNING commit_sha`,
          [a.commit, a.source],
        );
        for (const o of old.rows) await event(o.commit_sha, 'superseded', supersededDetail(a.commit));
      } else if (row.digest !== a.digest && row.conflict === null) {
        const why = conflictReason(a.cluster);
        await c.query('UPDATE rollouts SET conflict = $1 WHERE commit_sha = $2', [why, a.commit]);
        await event(a.commit, 'conflict', why);
      }
      const after = await c.query<RolloutRow>('SELECT * FROM rollouts WHERE commit_sha = $1', [a.commit]);
      return toRolloutRecord(after.rows[0]!);
    });
  }

  async get(commit: string): Promise<RolloutRecord | undefined> {
    const { rows } = await this.pool.query<RolloutRow>('SELECT * FROM rollouts WHERE commit_sha = $1', [
      commit,
    ]);
    return rows[0] && toRolloutRecord(rows[0]);
  }

  async list(limit: number): Promise<RolloutRecord[]> {
    const { rows } = await this.pool.query<RolloutRow>(
      'SELECT * FROM rollouts ORDER BY started_at DESC, commit_sha LIMIT $1',
      [limit],
    );
    return rows.map(toRolloutRecord);
  }

  async observations(commit: string): Promise<Map<string, RolloutObservation>> {
    const { rows } = await this.pool.query<ObservationRow>(
      `SELECT cluster, applied_at, healthy_since, first_healthy_at, failed_at, released_at
       FROM rollout_clusters WHERE commit_sha = $1`,
      [commit],
    );
    return new Map(rows.map((r) => [r.cluster, toObservation(r)]));
  }

  /**
   * The rollout row is read FOR SHARE, which waits for a pause (or abort, supersede, conflict)
   * being written on another replica and then reads it: a stop committed first refuses the
   * release, and one that comes later waits for the release to commit, so it follows it.
   */
  async markReleased(
    commit: string,
    cluster: string,
    at: number,
    opts: { record: boolean },
  ): Promise<boolean> {
    return inTransaction(this.pool, async (c) => {
      const { rows } = await c.query<RolloutRow>('SELECT * FROM rollouts WHERE commit_sha = $1 FOR SHARE', [
        commit,
      ]);
      const row = rows[0];
      if (!row) return false;
      const had = await c.query<{ released_at: number | null; applied_at: number | null }>(
        'SELECT released_at, applied_at FROM rollout_clusters WHERE commit_sha = $1 AND cluster = $2',
        [commit, cluster],
      );
      const before = had.rows[0];
      if (before && (before.released_at !== null || before.applied_at !== null)) return true;
      if (stopsReleases(row)) return false;
      if (!opts.record) return true;
      const { rowCount } = await c.query(
        `INSERT INTO rollout_clusters AS r (commit_sha, cluster, released_at) VALUES ($1, $2, $3)
         ON CONFLICT (commit_sha, cluster) DO UPDATE SET released_at = excluded.released_at
         WHERE r.released_at IS NULL`,
        [commit, cluster, at],
      );
      if (rowCount)
        await c.query(
          `INSERT INTO rollout_events (commit_sha, at, kind, detail) VALUES ($1, $2, 'released', $3)`,
          [commit, at, cluster],
        );
      return true;
    });
  }

  control(
    commit: string,
    action: RolloutAction,
    at: number,
    detail: { wave?: number; by?: string },
  ): Promise<RolloutRecord | undefined> {
    return inTransaction(this.pool, async (c) => {
      const { rows } = await c.query<RolloutRow>('SELECT * FROM rollouts WHERE commit_sha = $1 FOR UPDATE', [
        commit,
      ]);
      const row = rows[0];
      if (!row) return undefined;
      if (action === 'pause')
        await c.query('UPDATE rollouts SET paused_at = COALESCE(paused_at, $1) WHERE commit_sha = $2', [
          at,
          commit,
        ]);
      if (action === 'resume')
        await c.query('UPDATE rollouts SET paused_at = NULL WHERE commit_sha = $1', [commit]);
      if (action === 'abort')
        await c.query('UPDATE rollouts SET aborted_at = COALESCE(aborted_at, $1) WHERE commit_sha = $2', [
          at,
          commit,
        ]);
      if (action === 'approve')
        await c.query('UPDATE rollouts SET approvals = $1 WHERE commit_sha = $2', [
          withWave(row.approvals, detail.wave, at),
          commit,
        ]);
      if (action === 'waive')
        await c.query('UPDATE rollouts SET waivers = $1 WHERE commit_sha = $2', [
          withWave(row.waivers, detail.wave, at),
          commit,
        ]);
      await c.query('INSERT INTO rollout_events (commit_sha, at, kind, detail) VALUES ($1, $2, $3, $4)', [
        commit,
        at,
        EVENT_OF[action],
        controlDetail(action, detail),
      ]);
      const after = await c.query<RolloutRow>('SELECT * FROM rollouts WHERE commit_sha = $1', [commit]);
      return toRolloutRecord(after.rows[0]!);
    });
  }

  async events(commit: string): Promise<RolloutEvent[]> {
    const { rows } = await this.pool.query<EventRow>(
      'SELECT commit_sha, at, kind, detail FROM rollout_events WHERE commit_sha = $1 ORDER BY id',
      [commit],
    );
    return rows.map(toRolloutEvent);
  }

  /**
   * Folds the stored reports of a batch into their rollout observations, after the batch committed.
   * A hub that dies between the two loses that one fold; the cluster's next report folds again.
   */
  async observeBatch(batch: IncomingReport[], outcomes: SaveOutcome[]): Promise<void> {
    for (const [i, item] of batch.entries()) {
      if (outcomes[i]?.result !== 'stored') continue;
      for (const [commit, standing] of rolloutPairs(item)) await this.observeOne(item, commit, standing);
    }
  }

  private async observeOne(
    item: IncomingReport,
    commit: string,
    standing: CommitStanding | null,
  ): Promise<void> {
    const cluster = item.report.cluster;
    await inTransaction(this.pool, async (c) => {
      const exists = await c.query('SELECT 1 FROM rollouts WHERE commit_sha = $1', [commit]);
      if (exists.rowCount === 0) return;
      await c.query(
        'INSERT INTO rollout_clusters (commit_sha, cluster) VALUES ($1, $2) ON CONFLICT DO NOTHING',
        [commit, cluster],
      );
      const { rows } = await c.query<ObservationRow>(
        `SELECT cluster, applied_at, healthy_since, first_healthy_at, failed_at, released_at
         FROM rollout_clusters WHERE commit_sha = $1 AND cluster = $2 FOR UPDATE`,
        [commit, cluster],
      );
      const latest = await c.query<{ seq: number }>('SELECT seq FROM clusters WHERE name = $1', [cluster]);
      if (latest.rows[0]?.seq !== item.report.seq) return;
      const before = rows[0] ? toObservation(rows[0]) : EMPTY_OBSERVATION;
      const after = observe(before, standing, item.receivedAt);
      if (sameObservation(before, after)) return;
      await c.query(
        `UPDATE rollout_clusters SET applied_at = $3, healthy_since = $4, first_healthy_at = $5, failed_at = $6
         WHERE commit_sha = $1 AND cluster = $2`,
        [commit, cluster, after.appliedAt, after.healthySince, after.firstHealthyAt, after.failedAt],
      );
      for (const kind of firstTimeEvents(before, after))
        await c.query('INSERT INTO rollout_events (commit_sha, at, kind, detail) VALUES ($1, $2, $3, $4)', [
          commit,
          item.receivedAt,
          kind,
          cluster,
        ]);
    });
  }
}
