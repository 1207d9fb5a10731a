/**
 * The PostgreSQL Store (node-postgres): any number of hub replicas share one database. Every write of
 * a batch is one call of the `strata_save_reports` function (one round trip, one transaction), which
 * serialises reports of one cluster on its row lock, so ingest is idempotent by seq whichever replica
 * a report (or its retry) reaches. Reads are plain queries on a small connection pool.
 */
import pg from 'pg';
import { redactUrl } from '../../../contract/redact.js';
import type { Report } from '../../../contract/report.js';
import { rolloutStates } from '../fleet/rollout.js';
import { FleetReads, type RunQuery } from './fleet-reads.js';
import { latestVersion, pendingMigrations } from './migrations.js';
import { POSTGRES_MIGRATIONS } from './postgres-migrations.js';
import { PostgresRollouts } from './postgres-rollouts.js';
import { inTransaction } from './postgres-tx.js';
import { backfillRollout } from './rollout-backfill.js';
import {
  type ClusterRow,
  type HistoryRow,
  type PreviewRow,
  type TokenRow,
  toCluster,
  toHistoryEntry,
  toPreview,
  toToken,
} from './rows.js';
import { SqlStore } from './sql-store.js';
import type {
  ClusterRecord,
  HeartbeatOutcome,
  HistoryEntry,
  IncomingHeartbeat,
  IncomingReport,
  PreviewRecord,
  RetentionPolicy,
  SaveOutcome,
  Store,
  TokenRecord,
} from './store.js';

/** How `openPostgresStore` opens the database: the retention policy and the connection pool's size. */
export interface PostgresStoreOptions {
  retention: RetentionPolicy;
  /** Connections in the pool (default 8). */
  poolSize?: number;
}

/** `postgres://` and `postgresql://` URLs name a PostgreSQL database; anything else is a SQLite file. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

/** 64-bit integers as numbers: seqs and epoch milliseconds stay far below 2^53. */
const TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return (text: string) => Number(text);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/** Opens the database and applies pending migrations (several hubs starting at once apply them once). */
export async function openPostgresStore(url: string, options: PostgresStoreOptions): Promise<Store> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 8,
    types: TYPES,
    application_name: 'strata-hub',
  });
  // An idle client that loses its connection emits here; without a listener it would crash the hub.
  pool.on('error', () => {});
  try {
    await migrate(pool);
    await backfillRollout(runOn(pool));
  } catch (err) {
    await pool.end();
    throw new Error(`hub database ${redactUrl(url)}: ${(err as Error).message}`, { cause: err });
  }
  return new PostgresStore(pool, options.retention);
}

/** Runs the pending migrations under a transaction-scoped advisory lock, so concurrent hubs take turns. */
export async function migrate(pool: pg.Pool, migrations = POSTGRES_MIGRATIONS): Promise<number> {
  return inTransaction(pool, async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('strata-hub schema'))`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version INT PRIMARY KEY, description TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query<{ v: number | null }>(
      'SELECT max(version) AS v FROM schema_migrations',
    );
    for (const m of pendingMigrations('PostgreSQL', rows[0]?.v ?? 0, migrations)) {
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, description) VALUES ($1, $2)', [
        m.version,
        m.description,
      ]);
    }
    return latestVersion(migrations);
  });
}

/** Runs a query written with `?` placeholders, numbering them for PostgreSQL. */
function runOn(pool: pg.Pool): RunQuery {
  return async <T>(sql: string, params: unknown[]) => {
    let n = 0;
    const numbered = sql.replace(/\?/g, () => `$${++n}`);
    return (await pool.query({ text: numbered, values: params })).rows as T[];
  };
}

interface SaveRow {
  idx: number;
  result: 'stored' | 'duplicate' | 'stale' | 'revoked' | null;
  latest_seq: number | null;
  error: string | null;
}

/** Deadlock or serialisation failure: the whole batch was rolled back and can be sent again. */
const RETRYABLE = new Set(['40P01', '40001', '55P03']);
const SAVE_ATTEMPTS = 5;

class PostgresStore extends SqlStore implements Store {
  private readonly trimEvery: number;
  protected readonly reads: FleetReads;
  protected readonly rollouts: PostgresRollouts;

  constructor(
    private readonly pool: pg.Pool,
    private readonly retention: RetentionPolicy,
  ) {
    super();
    this.trimEvery = Math.max(1, Math.min(16, retention.keepReports));
    this.reads = new FleetReads(runOn(pool));
    this.rollouts = new PostgresRollouts(pool);
  }

  async createToken(token: TokenRecord): Promise<void> {
    // The cluster is registered from its first token on: the fleet lists it before it reports.
    await this.pool.query(
      `WITH token AS (INSERT INTO tokens (id, cluster, hash, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5))
       INSERT INTO clusters (name, rollout) VALUES ($2, '[]') ON CONFLICT (name) DO NOTHING`,
      [token.id, token.cluster, token.hash, token.createdAt, token.revokedAt],
    );
  }

  async findToken(id: string): Promise<TokenRecord | undefined> {
    const { rows } = await this.pool.query<TokenRow>('SELECT * FROM tokens WHERE id = $1', [id]);
    return rows[0] && toToken(rows[0]);
  }

  async revokeToken(id: string, at: string): Promise<boolean> {
    const { rows } = await this.pool.query<{ id: string }>(
      `WITH found AS (SELECT id FROM tokens WHERE id = $1),
            revoked AS (UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL)
       SELECT id FROM found`,
      [id, at],
    );
    return rows.length > 0;
  }

  async listTokens(): Promise<TokenRecord[]> {
    const { rows } = await this.pool.query<TokenRow>('SELECT * FROM tokens ORDER BY cluster, created_at');
    return rows.map(toToken);
  }

  async saveReports(batch: IncomingReport[]): Promise<SaveOutcome[]> {
    if (batch.length === 0) return [];
    const params = toParams(batch, this.retention.keepReports, this.trimEvery);
    const outcomes = await this.saveBatch(params, batch.length);
    await this.rollouts.observeBatch(batch, outcomes);
    return outcomes;
  }

  private async saveBatch(params: unknown[], count: number): Promise<SaveOutcome[]> {
    const rows = await this.retried<SaveRow>(
      'SELECT * FROM strata_save_reports($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)',
      params,
    );
    return outcomesOf(rows, count);
  }

  async saveHeartbeats(batch: IncomingHeartbeat[]): Promise<HeartbeatOutcome[]> {
    if (batch.length === 0) return [];
    const rows = await this.retried<{
      idx: number;
      result: HeartbeatOutcome['result'];
      latest_seq: number | null;
    }>('SELECT * FROM strata_save_heartbeats($1, $2, $3, $4, $5)', [
      batch.map((h) => h.cluster),
      batch.map((h) => h.seq),
      batch.map((h) => h.of),
      batch.map((h) => h.receivedAt),
      batch.map((h) => h.tokenId ?? null),
    ]);
    const outcomes: HeartbeatOutcome[] = new Array(batch.length);
    for (const row of rows) {
      outcomes[row.idx - 1] =
        row.result === 'revoked'
          ? { result: 'revoked' }
          : { result: row.result, ...(row.latest_seq === null ? {} : { latestSeq: row.latest_seq }) };
    }
    return outcomes;
  }

  /** One call of a batch function, sent again when PostgreSQL rolled it back for a deadlock. */
  private async retried<T extends pg.QueryResultRow>(text: string, params: unknown[]): Promise<T[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.pool.query<T>(text, params)).rows;
      } catch (err) {
        if (attempt >= SAVE_ATTEMPTS || !RETRYABLE.has((err as { code?: string }).code ?? '')) throw err;
      }
    }
  }

  async listClusters(): Promise<ClusterRecord[]> {
    const { rows } = await this.pool.query<ClusterRow>(
      'SELECT name, labels, seq, received_at, summary FROM clusters WHERE seq IS NOT NULL ORDER BY name',
    );
    return rows.map(toCluster);
  }

  async getCluster(name: string): Promise<{ record: ClusterRecord; report: Report } | undefined> {
    const { rows } = await this.pool.query<ClusterRow & { report: string }>(
      'SELECT name, labels, seq, received_at, summary, report FROM clusters WHERE name = $1 AND seq IS NOT NULL',
      [name],
    );
    const row = rows[0];
    return row && { record: toCluster(row), report: JSON.parse(row.report) as Report };
  }

  async history(
    cluster: string,
    limit: number,
    beforeSeq = Number.MAX_SAFE_INTEGER,
  ): Promise<HistoryEntry[]> {
    const { rows } = await this.pool.query<HistoryRow>(
      `SELECT seq, received_at, created_at, applied, summary FROM reports
       WHERE cluster = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`,
      [cluster, beforeSeq, Math.min(limit, this.retention.keepReports)],
    );
    return rows.map(toHistoryEntry);
  }

  async knownClusterNames(): Promise<string[]> {
    const { rows } = await this.pool.query<{ cluster: string }>(
      'SELECT DISTINCT cluster FROM tokens ORDER BY cluster',
    );
    return rows.map((r) => r.cluster);
  }

  async listPreviews(filter: { ref?: string } = {}): Promise<PreviewRecord[]> {
    const { rows } =
      filter.ref === undefined
        ? await this.pool.query<PreviewRow>('SELECT * FROM previews ORDER BY ref, cluster')
        : await this.pool.query<PreviewRow>('SELECT * FROM previews WHERE ref = $1 ORDER BY cluster', [
            filter.ref,
          ]);
    return rows.map(toPreview);
  }

  async pruneHistory(now: number): Promise<number> {
    const result = await this.pool.query('DELETE FROM reports WHERE received_at < $1', [
      now - this.retention.maxAgeMs,
    ]);
    return result.rowCount ?? 0;
  }

  async claimLease(name: string, holder: string, now: number, ttlMs: number): Promise<boolean> {
    const result = await this.pool.query(
      `INSERT INTO leases AS l (name, holder, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE l.expires_at <= $4`,
      [name, holder, now + ttlMs, now],
    );
    return result.rowCount === 1;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

function toParams(batch: IncomingReport[], keep: number, trimEvery: number): unknown[] {
  const columns: unknown[][] = Array.from({ length: 10 }, () => []);
  for (const { report, summary, receivedAt, tokenId, reportJson } of batch) {
    columns[0]!.push(report.cluster);
    columns[1]!.push(report.seq);
    columns[2]!.push(receivedAt);
    columns[3]!.push(report.createdAt ?? null);
    columns[4]!.push(JSON.stringify(report.labels));
    columns[5]!.push(JSON.stringify(summary));
    columns[6]!.push(reportJson ?? JSON.stringify(report));
    columns[7]!.push(JSON.stringify(report.previews));
    columns[8]!.push(tokenId ?? null);
    columns[9]!.push(JSON.stringify(rolloutStates(summary)));
  }
  return [...columns, keep, trimEvery];
}

function outcomesOf(rows: SaveRow[], count: number): SaveOutcome[] {
  const outcomes: SaveOutcome[] = new Array(count);
  for (const row of rows) {
    if (row.error !== null || row.result === null) {
      throw new Error(`storing a report failed: ${row.error ?? 'no result'}`);
    }
    outcomes[row.idx - 1] =
      row.result === 'revoked' ? { result: 'revoked' } : { result: row.result, latestSeq: row.latest_seq! };
  }
  return outcomes;
}
