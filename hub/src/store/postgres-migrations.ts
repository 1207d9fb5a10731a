/**
 * The PostgreSQL schema, as versioned migrations (see migrations.ts): the same versions as the
 * SQLite list, in PostgreSQL's dialect. Applied versions are rows of `schema_migrations`.
 *
 * Names sort with the "C" collation, byte order like SQLite's, so both stores page in the same order
 * and a name-prefix search is an index range whatever the database's default collation.
 */
import type { Migration } from './migrations.js';

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
CREATE FUNCTION strata_save_reports(
  p_cluster TEXT[], p_seq BIGINT[], p_received BIGINT[], p_created TEXT[], p_labels TEXT[],
  p_summary TEXT[], p_report TEXT[], p_previews TEXT[], p_token TEXT[], p_keep INT, p_trim_every INT)
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
      IF p_token[i] IS NOT NULL THEN
        SELECT t.cluster, t.revoked_at INTO tok FROM tokens t WHERE t.id = p_token[i] FOR SHARE;
        IF NOT FOUND OR tok.revoked_at IS NOT NULL OR tok.cluster <> p_cluster[i] THEN
          result := 'revoked'; RETURN NEXT; CONTINUE;
        END IF;
      END IF;
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
        INSERT INTO clusters AS c (name, labels, seq, received_at, summary, report)
          VALUES (p_cluster[i], p_labels[i], p_seq[i], p_received[i], p_summary[i], p_report[i])
          ON CONFLICT (name) DO UPDATE SET labels = excluded.labels, seq = excluded.seq,
            received_at = excluded.received_at, summary = excluded.summary, report = excluded.report
          WHERE c.seq < excluded.seq;
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
`,
  },
  {
    version: 2,
    description: 'leases: periodic work (history retention) done by one hub of many',
    sql: 'CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at BIGINT NOT NULL);',
  },
];
