/**
 * Versioned schema migrations, shared by the SQLite and PostgreSQL stores. Each store keeps its own
 * ordered list (the SQL differs by dialect, the versions mean the same change in both) and records the
 * version it reached in the database; on open, the hub applies the ones above it, each in its own
 * transaction, so a database is always at exactly one known version. Pure.
 *
 * Adding a table or column: describe the new version in SCHEMA_CHANGES and append it to both lists
 * with `schemaChange` (never edit one that has shipped: a hub that already applied it would not see
 * the change).
 */

export interface Migration {
  /** 1, 2, 3, … in order, no gaps. */
  version: number;
  /** One line, shown in logs and in the schema_migrations table. */
  description: string;
  sql: string;
}

/** The database's schema is newer than this hub knows: refuse rather than write to it. */
export class SchemaTooNewError extends Error {
  constructor(
    readonly store: string,
    readonly found: number,
    readonly known: number,
  ) {
    super(
      `the ${store} hub database is at schema version ${found}, newer than this hub (${known}): run a newer strata hub`,
    );
    this.name = 'SchemaTooNewError';
  }
}

/** Throws unless versions run 1, 2, 3, … without gaps or repeats. */
export function checkMigrations(store: string, list: readonly Migration[]): void {
  list.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new Error(`${store} migration #${i + 1} has version ${m.version}: versions must run 1, 2, 3, …`);
    }
  });
}

/**
 * What each version from 2 on changes, one line each: the same change in both dialects (version 1
 * says what each dialect's first schema holds, so each list describes its own).
 */
const SCHEMA_CHANGES = {
  2: 'leases: periodic work (history retention) done by one hub of many',
  3: 'fleet views in SQL: state columns, registered clusters, label, commit and count tables',
  4: 'staged rollouts: rollouts (rules, control), per-cluster observations, the timeline',
  5: 'an index of clusters whose rollout states are not computed yet, so the check on open reads no table',
  6: 'heartbeats: the highest seq seen of a cluster (a heartbeat moves it and last-seen, not the state)',
  7: 'selector counts without reading clusters: per-label counters, covering indexes of state and last-seen',
  8: 'rollout waivers: the waves a release manager let go on without their clusters that have not run the commit',
} as const;

/** A version from 2 on; a new version is described in SCHEMA_CHANGES first, for both dialects. */
export type LaterVersion = keyof typeof SCHEMA_CHANGES;

/** Migration `version` in one dialect's `sql`, with the description both dialects share. */
export function schemaChange(version: LaterVersion, sql: string): Migration {
  return { version, description: SCHEMA_CHANGES[version], sql };
}

/** Version 8, the same SQL in both dialects. */
export const ROLLOUT_WAIVERS = "ALTER TABLE rollouts ADD COLUMN waivers TEXT NOT NULL DEFAULT '{}';";

/** Version 5, the same SQL in both dialects. */
export const UNCOMPUTED_ROLLOUT_INDEX =
  'CREATE INDEX clusters_rollout_missing ON clusters (name) WHERE rollout IS NULL;';

/** The version a database reaches once every migration of `list` is applied (0 for none). */
export function latestVersion(list: readonly Migration[]): number {
  return list.at(-1)?.version ?? 0;
}

/** The migrations a database at `current` still needs, in order. */
export function pendingMigrations(store: string, current: number, list: readonly Migration[]): Migration[] {
  checkMigrations(store, list);
  const latest = latestVersion(list);
  if (current > latest) throw new SchemaTooNewError(store, current, latest);
  return list.filter((m) => m.version > current);
}
