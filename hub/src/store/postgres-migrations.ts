/**
 * The PostgreSQL schema, as versioned migrations (see migrations.ts): the same versions as the
 * SQLite list, in PostgreSQL's dialect. Applied versions are rows of `schema_migrations`.
 *
 * Names sort with the "C" collation, byte order like SQLite's, so both stores page in the same order
 * and a name-prefix search is an index range whatever the database's default collation.
 */
import { type Migration, ROLLOUT_WAIVERS, schemaChange, UNCOMPUTED_ROLLOUT_INDEX } from './migrations.js';
import { POSTGRES_ROLLOUT_SCHEMA } from './postgres-rollouts.js';

/**
 * A row trigger `name` on `table` and its function `strata_<name>`: `body` runs AFTER `events` for
 * each row and keeps derived tables in step (an AFTER trigger's result is ignored: it answers NULL).
 */
function rowTrigger(name: string, events: string, table: string, body: string): string {
  return `CREATE FUNCTION strata_${name}() RETURNS TRIGGER LANGUAGE plpgsql AS $fn$
BEGIN
${body}
  RETURN NULL;
END
$fn$;
CREATE TRIGGER ${name} AFTER ${events} ON ${table}
  FOR EACH ROW EXECUTE FUNCTION strata_${name}();`;
}

/**
 * The batch functions' token check, at `indent`: a report or heartbeat of a token that is gone,
 * revoked or another cluster's answers `revoked` and goes on to the next one. The row is read FOR
 * SHARE, so a revoke waits for what is being stored with that token.
 */
function revokedTokenCheck(indent: string): string {
  return [
    'IF p_token[i] IS NOT NULL THEN',
    '  SELECT t.cluster, t.revoked_at INTO tok FROM tokens t WHERE t.id = p_token[i] FOR SHARE;',
    '  IF NOT FOUND OR tok.revoked_at IS NOT NULL OR tok.cluster <> p_cluster[i] THEN',
    "    result := 'revoked'; RETURN NEXT; CONTINUE;",
    '  END IF;',
    'END IF;',
  ]
    .map((line) => indent + line)
    .join('\n');
}

/**
 * The batch writer `strata_save_reports` as versions 1 and 3 create it: one loop, given its argument
 * list and the statement that stores a cluster's new state (version 3's fills the state columns and
 * `rollout`, and also takes a cluster registered before it reported).
 */
function saveReportsFunction(parameters: string, upsertCluster: string): string {
  return `CREATE FUNCTION strata_save_reports(
${parameters})
RETURNS TABLE (idx INT, result TEXT, latest_seq BIGINT, error TEXT)
LANGUAGE plpgsql AS $fn$
DECLARE
  i INT;
  tok RECORD;
  latest BIGINT;
  is_applied BOOLEAN;
  n INT;
BEGIN
  FOR i IN SELECT o.i FROM unnest(p_cluster) WITH ORDINALITY AS o(c, i) ORDER BY o.c COLLATE "C", o.i LOOP
    idx := i; result := NULL; latest_seq := NULL; error := NULL;
    BEGIN
${revokedTokenCheck('      ')}
      SELECT c.seq INTO latest FROM clusters c WHERE c.name = p_cluster[i] FOR UPDATE;
      IF latest = p_seq[i] THEN
        result := 'duplicate'; latest_seq := latest; RETURN NEXT; CONTINUE;
      END IF;
      is_applied := latest IS NULL OR p_seq[i] > latest;
      INSERT INTO reports (cluster, seq, received_at, created_at, applied, summary)
        VALUES (p_cluster[i], p_seq[i], p_received[i], p_created[i], is_applied, p_summary[i])
        ON CONFLICT (cluster, seq) DO NOTHING;
      GET DIAGNOSTICS n = ROW_COUNT;
      IF n = 0 THEN
        -- Stored by another transaction (another replica) meanwhile: read what it left.
        result := 'duplicate';
        latest_seq := coalesce((SELECT c.seq FROM clusters c WHERE c.name = p_cluster[i]), p_seq[i]);
        RETURN NEXT; CONTINUE;
      END IF;
      IF is_applied THEN
${upsertCluster}
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n = 0 THEN
          -- A newer report of a new cluster was stored meanwhile by another transaction.
          is_applied := FALSE;
          latest := (SELECT c.seq FROM clusters c WHERE c.name = p_cluster[i]);
          UPDATE reports r SET applied = FALSE WHERE r.cluster = p_cluster[i] AND r.seq = p_seq[i];
        END IF;
      END IF;
      IF p_seq[i] % p_trim_every = 0 OR NOT is_applied THEN
        DELETE FROM reports r WHERE r.cluster = p_cluster[i] AND r.seq <= (
          SELECT r2.seq FROM reports r2 WHERE r2.cluster = p_cluster[i] ORDER BY r2.seq DESC OFFSET p_keep LIMIT 1);
      END IF;
      IF NOT is_applied THEN
        result := 'stale'; latest_seq := latest; RETURN NEXT; CONTINUE;
      END IF;
      INSERT INTO previews AS p (cluster, ref, seq, received_at, preview)
        SELECT p_cluster[i], e->>'ref', p_seq[i], p_received[i], e::text
        FROM json_array_elements(p_previews[i]::json) AS e
        ON CONFLICT (cluster, ref) DO UPDATE SET seq = excluded.seq, received_at = excluded.received_at,
          preview = excluded.preview;
      result := 'stored'; latest_seq := p_seq[i]; RETURN NEXT;
    EXCEPTION
      WHEN deadlock_detected OR serialization_failure OR lock_not_available THEN RAISE;
      WHEN OTHERS THEN error := SQLERRM; RETURN NEXT;
    END;
  END LOOP;
END
$fn$;
`;
}

/** The batch writer of version 3: as version 1's, and it fills the state columns and `rollout`. */
const SAVE_REPORTS_V3 = `
${saveReportsFunction(
  `  p_cluster TEXT[], p_seq BIGINT[], p_received BIGINT[], p_created TEXT[], p_labels TEXT[],
  p_summary TEXT[], p_report TEXT[], p_previews TEXT[], p_token TEXT[], p_rollout TEXT[], p_keep INT,
  p_trim_every INT`,
  `        INSERT INTO clusters AS c (name, labels, seq, received_at, summary, report, phase, health, commit_sha, rollout)
          VALUES (p_cluster[i], p_labels[i], p_seq[i], p_received[i], p_summary[i], p_report[i],
            p_summary[i]::json->>'phase', p_summary[i]::json->>'health', p_summary[i]::json->>'commit', p_rollout[i])
          ON CONFLICT (name) DO UPDATE SET labels = excluded.labels, seq = excluded.seq,
            received_at = excluded.received_at, summary = excluded.summary, report = excluded.report,
            phase = excluded.phase, health = excluded.health, commit_sha = excluded.commit_sha,
            rollout = excluded.rollout
          WHERE c.seq IS NULL OR c.seq < excluded.seq;`,
)}`;

/** Version 3, as in sqlite-migrations.ts (see there), plus the batch writer filling the new columns. */
const FLEET_TABLES = `
ALTER TABLE clusters ALTER COLUMN seq DROP NOT NULL, ALTER COLUMN received_at DROP NOT NULL,
  ALTER COLUMN summary DROP NOT NULL, ALTER COLUMN report DROP NOT NULL,
  ALTER COLUMN labels SET DEFAULT '{}',
  ADD COLUMN phase TEXT NOT NULL DEFAULT 'Unknown', ADD COLUMN health TEXT NOT NULL DEFAULT 'Unknown',
  ADD COLUMN commit_sha TEXT COLLATE "C", ADD COLUMN rollout TEXT;
UPDATE clusters SET phase = summary::json->>'phase', health = summary::json->>'health',
  commit_sha = summary::json->>'commit';
INSERT INTO clusters (name, rollout) SELECT DISTINCT cluster, '[]' FROM tokens ON CONFLICT (name) DO NOTHING;
CREATE INDEX clusters_by_phase ON clusters (phase, name);
CREATE INDEX clusters_by_commit ON clusters (commit_sha, name);
CREATE INDEX clusters_by_seen ON clusters (received_at);

CREATE TABLE cluster_labels (
  key TEXT COLLATE "C" NOT NULL, value TEXT COLLATE "C" NOT NULL, cluster TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (key, value, cluster));
CREATE INDEX cluster_labels_by_cluster ON cluster_labels (cluster);
CREATE TABLE cluster_commits (
  commit_sha TEXT COLLATE "C" NOT NULL, cluster TEXT COLLATE "C" NOT NULL, state TEXT NOT NULL,
  PRIMARY KEY (commit_sha, cluster));
CREATE INDEX cluster_commits_by_state ON cluster_commits (commit_sha, state, cluster);
CREATE INDEX cluster_commits_by_cluster ON cluster_commits (cluster);
CREATE TABLE fleet_counts (
  phase TEXT NOT NULL, health TEXT NOT NULL, commit_sha TEXT COLLATE "C" NOT NULL, reported BOOLEAN NOT NULL,
  n BIGINT NOT NULL, PRIMARY KEY (phase, health, commit_sha, reported));
CREATE TABLE rollout_counts (
  commit_sha TEXT COLLATE "C" NOT NULL, state TEXT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (commit_sha, state));

INSERT INTO cluster_labels (key, value, cluster)
  SELECT j.key, j.value, c.name FROM clusters c, json_each_text(c.labels::json) j;
INSERT INTO fleet_counts (phase, health, commit_sha, reported, n)
  SELECT phase, health, coalesce(commit_sha, ''), seq IS NOT NULL, count(*) FROM clusters GROUP BY 1, 2, 3, 4;

CREATE FUNCTION strata_fleet_count(p_phase TEXT, p_health TEXT, p_commit TEXT, p_reported BOOLEAN, p_delta INT)
RETURNS VOID LANGUAGE plpgsql AS $fn$
BEGIN
  INSERT INTO fleet_counts AS f (phase, health, commit_sha, reported, n)
    VALUES (p_phase, p_health, coalesce(p_commit, ''), p_reported, p_delta)
    ON CONFLICT (phase, health, commit_sha, reported) DO UPDATE SET n = f.n + p_delta;
  IF p_delta < 0 THEN
    DELETE FROM fleet_counts WHERE phase = p_phase AND health = p_health
      AND commit_sha = coalesce(p_commit, '') AND reported = p_reported AND n = 0;
  END IF;
END
$fn$;

${rowTrigger(
  'clusters_changed',
  'INSERT OR UPDATE',
  'clusters',
  `  IF TG_OP = 'UPDATE' AND NEW.labels IS DISTINCT FROM OLD.labels THEN
    DELETE FROM cluster_labels WHERE cluster = OLD.name;
  END IF;
  IF TG_OP = 'INSERT' OR NEW.labels IS DISTINCT FROM OLD.labels THEN
    INSERT INTO cluster_labels (key, value, cluster)
      SELECT j.key, j.value, NEW.name FROM json_each_text(NEW.labels::json) j;
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.rollout IS DISTINCT FROM OLD.rollout THEN
    DELETE FROM cluster_commits WHERE cluster = OLD.name;
  END IF;
  IF TG_OP = 'INSERT' OR NEW.rollout IS DISTINCT FROM OLD.rollout THEN
    INSERT INTO cluster_commits (commit_sha, cluster, state)
      SELECT e->>0, NEW.name, e->>1 FROM json_array_elements(coalesce(NEW.rollout, '[]')::json) e;
  END IF;
  IF TG_OP = 'INSERT' THEN
    PERFORM strata_fleet_count(NEW.phase, NEW.health, NEW.commit_sha, NEW.seq IS NOT NULL, 1);
  ELSIF NEW.phase IS DISTINCT FROM OLD.phase OR NEW.health IS DISTINCT FROM OLD.health
     OR NEW.commit_sha IS DISTINCT FROM OLD.commit_sha OR (NEW.seq IS NULL) <> (OLD.seq IS NULL) THEN
    PERFORM strata_fleet_count(OLD.phase, OLD.health, OLD.commit_sha, OLD.seq IS NOT NULL, -1);
    PERFORM strata_fleet_count(NEW.phase, NEW.health, NEW.commit_sha, NEW.seq IS NOT NULL, 1);
  END IF;`,
)}

${rowTrigger(
  'cluster_commits_changed',
  'INSERT OR DELETE',
  'cluster_commits',
  `  IF TG_OP = 'INSERT' THEN
    INSERT INTO rollout_counts AS r (commit_sha, state, n) VALUES (NEW.commit_sha, NEW.state, 1)
      ON CONFLICT (commit_sha, state) DO UPDATE SET n = r.n + 1;
  ELSE
    UPDATE rollout_counts SET n = n - 1 WHERE commit_sha = OLD.commit_sha AND state = OLD.state;
    DELETE FROM rollout_counts WHERE commit_sha = OLD.commit_sha AND state = OLD.state AND n = 0;
  END IF;`,
)}

DROP FUNCTION strata_save_reports(TEXT[], BIGINT[], BIGINT[], TEXT[], TEXT[], TEXT[], TEXT[], TEXT[], TEXT[], INT, INT);
${SAVE_REPORTS_V3}
`;

/**
 * Version 6. `seen_seq` is the highest heartbeat seq recorded since the state's report. The cluster
 * trigger now fires only for the columns it keeps derived tables of, so a heartbeat (an update of
 * `received_at` and `seen_seq`) runs none of it. `strata_save_heartbeats` applies the rule of
 * fleet/heartbeat.ts to a batch in one call, locking cluster rows in name order as the report writer
 * does, with the token read FOR SHARE for the same reason.
 */
const HEARTBEATS = `
ALTER TABLE clusters ADD COLUMN seen_seq BIGINT;
DROP TRIGGER clusters_changed ON clusters;
CREATE TRIGGER clusters_changed AFTER INSERT OR UPDATE OF labels, rollout, phase, health, commit_sha, seq
  ON clusters FOR EACH ROW EXECUTE FUNCTION strata_clusters_changed();

CREATE FUNCTION strata_save_heartbeats(
  p_cluster TEXT[], p_seq BIGINT[], p_of BIGINT[], p_received BIGINT[], p_token TEXT[])
RETURNS TABLE (idx INT, result TEXT, latest_seq BIGINT)
LANGUAGE plpgsql AS $fn$
DECLARE
  i INT;
  tok RECORD;
  cur RECORD;
BEGIN
  FOR i IN SELECT o.i FROM unnest(p_cluster) WITH ORDINALITY AS o(c, i) ORDER BY o.c COLLATE "C", o.i LOOP
    idx := i; result := NULL; latest_seq := NULL;
${revokedTokenCheck('    ')}
    SELECT c.seq, c.seen_seq INTO cur FROM clusters c WHERE c.name = p_cluster[i] FOR UPDATE;
    IF NOT FOUND OR cur.seq IS NULL OR cur.seq < p_of[i] THEN
      result := 'full-report-needed';
    ELSIF cur.seq > p_of[i] THEN
      result := 'stale';
    ELSIF greatest(cur.seq, cur.seen_seq) >= p_seq[i] THEN
      result := 'duplicate';
    ELSE
      UPDATE clusters c SET seen_seq = p_seq[i], received_at = greatest(c.received_at, p_received[i])
        WHERE c.name = p_cluster[i];
      result := 'alive';
    END IF;
    latest_seq := cur.seq;
    RETURN NEXT;
  END LOOP;
END
$fn$;
`;

/**
 * Version 7, as in sqlite-migrations.ts (see there): `label_counts`, kept by its own trigger on
 * `clusters` (row locks on counters are taken in any order; a deadlock between replicas is retried
 * like any other, see postgres.ts).
 */
const SELECTOR_COUNTS = `
CREATE INDEX clusters_state ON clusters (name) INCLUDE (phase, health, commit_sha, seq, received_at);
DROP INDEX clusters_by_seen;
CREATE INDEX clusters_by_seen ON clusters (received_at, name);
CREATE TABLE label_counts (
  key TEXT COLLATE "C" NOT NULL, value TEXT COLLATE "C" NOT NULL, phase TEXT NOT NULL, health TEXT NOT NULL,
  commit_sha TEXT COLLATE "C" NOT NULL, reported BOOLEAN NOT NULL, n BIGINT NOT NULL,
  PRIMARY KEY (key, value, phase, health, commit_sha, reported));
INSERT INTO label_counts (key, value, phase, health, commit_sha, reported, n)
  SELECT l.key, l.value, c.phase, c.health, coalesce(c.commit_sha, ''), c.seq IS NOT NULL, count(*)
  FROM cluster_labels l JOIN clusters c ON c.name = l.cluster GROUP BY 1, 2, 3, 4, 5, 6;

${rowTrigger(
  'label_counts_changed',
  'INSERT OR UPDATE OF labels, phase, health, commit_sha, seq',
  'clusters',
  `  IF TG_OP = 'UPDATE' THEN
    IF NEW.labels IS NOT DISTINCT FROM OLD.labels AND NEW.phase IS NOT DISTINCT FROM OLD.phase
       AND NEW.health IS NOT DISTINCT FROM OLD.health AND NEW.commit_sha IS NOT DISTINCT FROM OLD.commit_sha
       AND (NEW.seq IS NULL) = (OLD.seq IS NULL) THEN
      RETURN NULL;
    END IF;
    UPDATE label_counts lc SET n = lc.n - 1 FROM json_each_text(OLD.labels::json) j
      WHERE lc.key = j.key AND lc.value = j.value AND lc.phase = OLD.phase AND lc.health = OLD.health
        AND lc.commit_sha = coalesce(OLD.commit_sha, '') AND lc.reported = (OLD.seq IS NOT NULL);
    DELETE FROM label_counts lc USING json_each_text(OLD.labels::json) j
      WHERE lc.key = j.key AND lc.value = j.value AND lc.phase = OLD.phase AND lc.health = OLD.health
        AND lc.commit_sha = coalesce(OLD.commit_sha, '') AND lc.reported = (OLD.seq IS NOT NULL) AND lc.n = 0;
  END IF;
  INSERT INTO label_counts AS lc (key, value, phase, health, commit_sha, reported, n)
    SELECT j.key, j.value, NEW.phase, NEW.health, coalesce(NEW.commit_sha, ''), NEW.seq IS NOT NULL, 1
    FROM json_each_text(NEW.labels::json) j
    ON CONFLICT (key, value, phase, health, commit_sha, reported) DO UPDATE SET n = lc.n + 1;`,
)}
`;

/** The PostgreSQL schema, version by version, in order: append, never edit a shipped one. */
export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'tokens, clusters (latest state), reports (history), previews, the batch writer',
    sql: `
CREATE TABLE tokens (
  id TEXT PRIMARY KEY, cluster TEXT COLLATE "C" NOT NULL, hash TEXT NOT NULL,
  created_at TEXT NOT NULL, revoked_at TEXT);
CREATE TABLE clusters (
  name TEXT COLLATE "C" PRIMARY KEY, labels TEXT NOT NULL, seq BIGINT NOT NULL,
  received_at BIGINT NOT NULL, summary TEXT NOT NULL, report TEXT NOT NULL);
CREATE TABLE reports (
  id BIGSERIAL PRIMARY KEY, cluster TEXT COLLATE "C" NOT NULL, seq BIGINT NOT NULL,
  received_at BIGINT NOT NULL, created_at TEXT, applied BOOLEAN NOT NULL, summary TEXT NOT NULL,
  UNIQUE (cluster, seq));
CREATE INDEX reports_by_time ON reports (received_at);
CREATE TABLE previews (
  cluster TEXT COLLATE "C" NOT NULL, ref TEXT COLLATE "C" NOT NULL, seq BIGINT NOT NULL,
  received_at BIGINT NOT NULL, preview TEXT NOT NULL, PRIMARY KEY (cluster, ref));

-- One batch of reports in one call (one round trip, one transaction: group commit). Each report runs
-- in its own subtransaction, so one failing report cannot undo the others; clusters are locked in name
-- order, so two replicas writing overlapping batches cannot deadlock on cluster rows. The token row is
-- read FOR SHARE: a revoke (an UPDATE of that row) waits for reports already being stored, so once
-- "token revoke" returns no replica stores another report of that token.
${saveReportsFunction(
  `  p_cluster TEXT[], p_seq BIGINT[], p_received BIGINT[], p_created TEXT[], p_labels TEXT[],
  p_summary TEXT[], p_report TEXT[], p_previews TEXT[], p_token TEXT[], p_keep INT, p_trim_every INT`,
  `        INSERT INTO clusters AS c (name, labels, seq, received_at, summary, report)
          VALUES (p_cluster[i], p_labels[i], p_seq[i], p_received[i], p_summary[i], p_report[i])
          ON CONFLICT (name) DO UPDATE SET labels = excluded.labels, seq = excluded.seq,
            received_at = excluded.received_at, summary = excluded.summary, report = excluded.report
          WHERE c.seq < excluded.seq;`,
)}`,
  },
  schemaChange(
    2,
    'CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at BIGINT NOT NULL);',
  ),
  schemaChange(3, FLEET_TABLES),
  schemaChange(4, POSTGRES_ROLLOUT_SCHEMA),
  schemaChange(5, UNCOMPUTED_ROLLOUT_INDEX),
  schemaChange(6, HEARTBEATS),
  schemaChange(7, SELECTOR_COUNTS),
  schemaChange(8, ROLLOUT_WAIVERS),
];
