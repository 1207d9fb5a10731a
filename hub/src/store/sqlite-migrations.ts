/** The SQLite schema, as versioned migrations (see migrations.ts). The version is kept in `PRAGMA user_version`. */
import { type Migration, ROLLOUT_WAIVERS, schemaChange, UNCOMPUTED_ROLLOUT_INDEX } from './migrations.js';
import { ROLLOUT_SCHEMA } from './sqlite-rollouts.js';

/**
 * Version 3: what the fleet views query, so no view reads the whole fleet. A cluster row exists from
 * its first token on (seq NULL until it reports); phase, health and commit are columns; triggers keep
 * `cluster_labels` (one row per label: selectors become index lookups), `cluster_commits` (each
 * commit a cluster's sources name, with its rollout state for that commit, computed at ingest in
 * `rollout`) and the counters `fleet_counts` and `rollout_counts` (fleet-wide counts without a scan)
 * in step with `clusters`. `rollout` NULL means "not computed yet": the store fills it in on open.
 */
const FLEET_TABLES = `
CREATE TABLE clusters_v3 (
  name TEXT PRIMARY KEY, labels TEXT NOT NULL DEFAULT '{}', seq INTEGER, received_at INTEGER,
  summary TEXT, report TEXT, phase TEXT NOT NULL DEFAULT 'Unknown', health TEXT NOT NULL DEFAULT 'Unknown',
  commit_sha TEXT, rollout TEXT);
INSERT INTO clusters_v3 (name, labels, seq, received_at, summary, report, phase, health, commit_sha)
  SELECT name, labels, seq, received_at, summary, report, json_extract(summary, '$.phase'),
    json_extract(summary, '$.health'), json_extract(summary, '$.commit') FROM clusters;
INSERT INTO clusters_v3 (name, rollout)
  SELECT DISTINCT cluster, '[]' FROM tokens WHERE cluster NOT IN (SELECT name FROM clusters);
DROP TABLE clusters;
ALTER TABLE clusters_v3 RENAME TO clusters;
CREATE INDEX clusters_by_phase ON clusters (phase, name);
CREATE INDEX clusters_by_commit ON clusters (commit_sha, name);
CREATE INDEX clusters_by_seen ON clusters (received_at);

CREATE TABLE cluster_labels (
  key TEXT NOT NULL, value TEXT NOT NULL, cluster TEXT NOT NULL, PRIMARY KEY (key, value, cluster)) WITHOUT ROWID;
CREATE INDEX cluster_labels_by_cluster ON cluster_labels (cluster);
CREATE TABLE cluster_commits (
  commit_sha TEXT NOT NULL, cluster TEXT NOT NULL, state TEXT NOT NULL, PRIMARY KEY (commit_sha, cluster)) WITHOUT ROWID;
CREATE INDEX cluster_commits_by_state ON cluster_commits (commit_sha, state, cluster);
CREATE INDEX cluster_commits_by_cluster ON cluster_commits (cluster);
CREATE TABLE fleet_counts (
  phase TEXT NOT NULL, health TEXT NOT NULL, commit_sha TEXT NOT NULL, reported INTEGER NOT NULL,
  n INTEGER NOT NULL, PRIMARY KEY (phase, health, commit_sha, reported)) WITHOUT ROWID;
CREATE TABLE rollout_counts (
  commit_sha TEXT NOT NULL, state TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (commit_sha, state)) WITHOUT ROWID;

INSERT INTO cluster_labels (key, value, cluster) SELECT j.key, j.value, c.name FROM clusters c, json_each(c.labels) j;
INSERT INTO fleet_counts (phase, health, commit_sha, reported, n)
  SELECT phase, health, coalesce(commit_sha, ''), seq IS NOT NULL, count(*) FROM clusters GROUP BY 1, 2, 3, 4;

CREATE TRIGGER clusters_inserted AFTER INSERT ON clusters BEGIN
  INSERT INTO cluster_labels (key, value, cluster) SELECT key, value, NEW.name FROM json_each(NEW.labels);
  INSERT INTO cluster_commits (commit_sha, cluster, state)
    SELECT json_extract(value, '$[0]'), NEW.name, json_extract(value, '$[1]') FROM json_each(coalesce(NEW.rollout, '[]'));
  INSERT INTO fleet_counts (phase, health, commit_sha, reported, n)
    VALUES (NEW.phase, NEW.health, coalesce(NEW.commit_sha, ''), NEW.seq IS NOT NULL, 1)
    ON CONFLICT (phase, health, commit_sha, reported) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER clusters_relabelled AFTER UPDATE OF labels ON clusters WHEN NEW.labels IS NOT OLD.labels BEGIN
  DELETE FROM cluster_labels WHERE cluster = OLD.name;
  INSERT INTO cluster_labels (key, value, cluster) SELECT key, value, NEW.name FROM json_each(NEW.labels);
END;
CREATE TRIGGER clusters_rolled AFTER UPDATE OF rollout ON clusters WHEN NEW.rollout IS NOT OLD.rollout BEGIN
  DELETE FROM cluster_commits WHERE cluster = OLD.name;
  INSERT INTO cluster_commits (commit_sha, cluster, state)
    SELECT json_extract(value, '$[0]'), NEW.name, json_extract(value, '$[1]') FROM json_each(coalesce(NEW.rollout, '[]'));
END;
CREATE TRIGGER clusters_changed AFTER UPDATE OF phase, health, commit_sha, seq ON clusters
  WHEN NEW.phase IS NOT OLD.phase OR NEW.health IS NOT OLD.health OR NEW.commit_sha IS NOT OLD.commit_sha
    OR (NEW.seq IS NULL) <> (OLD.seq IS NULL) BEGIN
  UPDATE fleet_counts SET n = n - 1 WHERE phase = OLD.phase AND health = OLD.health
    AND commit_sha = coalesce(OLD.commit_sha, '') AND reported = (OLD.seq IS NOT NULL);
  DELETE FROM fleet_counts WHERE n = 0 AND phase = OLD.phase AND health = OLD.health
    AND commit_sha = coalesce(OLD.commit_sha, '') AND reported = (OLD.seq IS NOT NULL);
  INSERT INTO fleet_counts (phase, health, commit_sha, reported, n)
    VALUES (NEW.phase, NEW.health, coalesce(NEW.commit_sha, ''), NEW.seq IS NOT NULL, 1)
    ON CONFLICT (phase, health, commit_sha, reported) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER cluster_commits_inserted AFTER INSERT ON cluster_commits BEGIN
  INSERT INTO rollout_counts (commit_sha, state, n) VALUES (NEW.commit_sha, NEW.state, 1)
    ON CONFLICT (commit_sha, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER cluster_commits_deleted AFTER DELETE ON cluster_commits BEGIN
  UPDATE rollout_counts SET n = n - 1 WHERE commit_sha = OLD.commit_sha AND state = OLD.state;
  DELETE FROM rollout_counts WHERE n = 0 AND commit_sha = OLD.commit_sha AND state = OLD.state;
END;
`;

/**
 * Version 7: a selector's counts without reading cluster rows. `label_counts` is `fleet_counts` per
 * label (key, value): the triggers below move a cluster between its rows when its labels or state
 * change, so `k=v`, `k in (…)` and `k` are counted in a few rows. Other selectors count over the
 * covering index `clusters_state` (the state columns beside the name, never the row with its
 * report), and `clusters_by_seen` now holds the name, so the stale clusters of a selector are an
 * index range checked against the labels.
 */
const SELECTOR_COUNTS = `
CREATE INDEX clusters_state ON clusters (name, phase, health, commit_sha, seq, received_at);
DROP INDEX clusters_by_seen;
CREATE INDEX clusters_by_seen ON clusters (received_at, name);
CREATE TABLE label_counts (
  key TEXT NOT NULL, value TEXT NOT NULL, phase TEXT NOT NULL, health TEXT NOT NULL, commit_sha TEXT NOT NULL,
  reported INTEGER NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (key, value, phase, health, commit_sha, reported)) WITHOUT ROWID;
INSERT INTO label_counts (key, value, phase, health, commit_sha, reported, n)
  SELECT l.key, l.value, c.phase, c.health, coalesce(c.commit_sha, ''), c.seq IS NOT NULL, count(*)
  FROM cluster_labels l JOIN clusters c ON c.name = l.cluster GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TRIGGER clusters_label_counts_inserted AFTER INSERT ON clusters BEGIN
  INSERT INTO label_counts (key, value, phase, health, commit_sha, reported, n)
    SELECT j.key, j.value, NEW.phase, NEW.health, coalesce(NEW.commit_sha, ''), NEW.seq IS NOT NULL, 1
    FROM json_each(NEW.labels) AS j WHERE true
    ON CONFLICT (key, value, phase, health, commit_sha, reported) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER clusters_label_counts_changed AFTER UPDATE OF labels, phase, health, commit_sha, seq ON clusters
  WHEN NEW.labels IS NOT OLD.labels OR NEW.phase IS NOT OLD.phase OR NEW.health IS NOT OLD.health
    OR NEW.commit_sha IS NOT OLD.commit_sha OR (NEW.seq IS NULL) <> (OLD.seq IS NULL) BEGIN
  UPDATE label_counts SET n = n - 1
    WHERE phase = OLD.phase AND health = OLD.health AND commit_sha = coalesce(OLD.commit_sha, '')
      AND reported = (OLD.seq IS NOT NULL)
      AND (label_counts.key, label_counts.value) IN (SELECT j.key, j.value FROM json_each(OLD.labels) AS j);
  DELETE FROM label_counts
    WHERE n = 0 AND phase = OLD.phase AND health = OLD.health AND commit_sha = coalesce(OLD.commit_sha, '')
      AND reported = (OLD.seq IS NOT NULL)
      AND (label_counts.key, label_counts.value) IN (SELECT j.key, j.value FROM json_each(OLD.labels) AS j);
  INSERT INTO label_counts (key, value, phase, health, commit_sha, reported, n)
    SELECT j.key, j.value, NEW.phase, NEW.health, coalesce(NEW.commit_sha, ''), NEW.seq IS NOT NULL, 1
    FROM json_each(NEW.labels) AS j WHERE true
    ON CONFLICT (key, value, phase, health, commit_sha, reported) DO UPDATE SET n = n + 1;
END;
`;

/** The SQLite schema, version by version, in order: append, never edit a shipped one. */
export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'tokens, clusters (latest state), reports (history), previews',
    // IF NOT EXISTS: hubs before versioned migrations created these tables and set user_version 1 too.
    sql: `
CREATE TABLE IF NOT EXISTS tokens (
  id TEXT PRIMARY KEY, cluster TEXT NOT NULL, hash TEXT NOT NULL,
  created_at TEXT NOT NULL, revoked_at TEXT);
CREATE TABLE IF NOT EXISTS clusters (
  name TEXT PRIMARY KEY, labels TEXT NOT NULL, seq INTEGER NOT NULL,
  received_at INTEGER NOT NULL, summary TEXT NOT NULL, report TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reports (
  id INTEGER PRIMARY KEY, cluster TEXT NOT NULL, seq INTEGER NOT NULL, received_at INTEGER NOT NULL,
  created_at TEXT, applied INTEGER NOT NULL, summary TEXT NOT NULL, UNIQUE (cluster, seq));
CREATE INDEX IF NOT EXISTS reports_by_time ON reports (received_at);
CREATE TABLE IF NOT EXISTS previews (
  cluster TEXT NOT NULL, ref TEXT NOT NULL, seq INTEGER NOT NULL, received_at INTEGER NOT NULL,
  preview TEXT NOT NULL, PRIMARY KEY (cluster, ref));
`,
  },
  schemaChange(
    2,
    'CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at INTEGER NOT NULL);',
  ),
  schemaChange(3, FLEET_TABLES),
  schemaChange(4, ROLLOUT_SCHEMA),
  schemaChange(5, UNCOMPUTED_ROLLOUT_INDEX),
  schemaChange(6, 'ALTER TABLE clusters ADD COLUMN seen_seq INTEGER;'),
  schemaChange(7, SELECTOR_COUNTS),
  schemaChange(8, ROLLOUT_WAIVERS),
];
