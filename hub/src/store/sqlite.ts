/**
 * The default Store: one SQLite file (better-sqlite3) in WAL mode.
 *
 * Durability: `synchronous=FULL` by default, so a report answered 2xx survives a hub crash and a
 * power loss (WAL with NORMAL survives a process crash but may lose the last commits on power
 * loss). FULL costs one fsync per commit; `saveReports` takes a batch so concurrent reports share
 * one transaction and one fsync (group commit), which keeps FULL fast.
 */
import Database from 'better-sqlite3';
import type { Report } from '../../../agent/src/report/schema.js';
import type { ReportSummary } from '../fleet/summary.js';
import type {
  ClusterRecord,
  HistoryEntry,
  IncomingReport,
  PreviewRecord,
  RetentionPolicy,
  SaveOutcome,
  Store,
  TokenRecord,
} from './store.js';

export interface SqliteStoreOptions {
  retention: RetentionPolicy;
  /** `full` (default): durable on power loss; `normal`: durable on process crash only. */
  synchronous?: 'full' | 'normal';
}

const SCHEMA_VERSION = 1;

const SCHEMA = `
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
`;

interface TokenRow {
  id: string;
  cluster: string;
  hash: string;
  created_at: string;
  revoked_at: string | null;
}
interface ClusterRow {
  name: string;
  labels: string;
  seq: number;
  received_at: number;
  summary: string;
}
interface HistoryRow {
  seq: number;
  received_at: number;
  created_at: string | null;
  applied: number;
  summary: string;
}
interface PreviewRow {
  cluster: string;
  ref: string;
  seq: number;
  received_at: number;
  preview: string;
}

/** Opens (creating if needed) the hub database at `file`. */
export function openSqliteStore(file: string, options: SqliteStoreOptions): Store {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return new SqliteStore(db, options.retention);
}

function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new Error(`hub database schema version ${version} is newer than this hub (${SCHEMA_VERSION})`);
  }
  db.exec(SCHEMA);
  db.pragma(`user_version = ${SCHEMA_VERSION}`);
}

class SqliteStore implements Store {
  private readonly sql;
  private readonly saveBatch;
  /** History is trimmed every this many reports of a cluster (reads never show more than the policy keeps). */
  private readonly trimEvery: number;

  constructor(
    private readonly db: Database.Database,
    private readonly retention: RetentionPolicy,
  ) {
    this.trimEvery = Math.max(1, Math.min(16, retention.keepReports));
    this.sql = {
      insertToken: db.prepare(
        'INSERT INTO tokens (id, cluster, hash, created_at, revoked_at) VALUES (@id, @cluster, @hash, @createdAt, @revokedAt)',
      ),
      findToken: db.prepare<[string], TokenRow>('SELECT * FROM tokens WHERE id = ?'),
      revokeToken: db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
      tokenExists: db.prepare<[string], { id: string }>('SELECT id FROM tokens WHERE id = ?'),
      listTokens: db.prepare<[], TokenRow>('SELECT * FROM tokens ORDER BY cluster, created_at'),
      clusterSeq: db.prepare<[string], { seq: number }>('SELECT seq FROM clusters WHERE name = ?'),
      hasSeq: db.prepare<[string, number], { id: number }>(
        'SELECT id FROM reports WHERE cluster = ? AND seq = ?',
      ),
      insertHistory: db.prepare(
        'INSERT INTO reports (cluster, seq, received_at, created_at, applied, summary) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      upsertCluster: db.prepare(
        `INSERT INTO clusters (name, labels, seq, received_at, summary, report) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET labels = excluded.labels, seq = excluded.seq,
           received_at = excluded.received_at, summary = excluded.summary, report = excluded.report`,
      ),
      upsertPreview: db.prepare(
        `INSERT INTO previews (cluster, ref, seq, received_at, preview) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (cluster, ref) DO UPDATE SET seq = excluded.seq, received_at = excluded.received_at,
           preview = excluded.preview`,
      ),
      trimHistory: db.prepare(
        `DELETE FROM reports WHERE cluster = ? AND seq <= (
           SELECT seq FROM reports WHERE cluster = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`,
      ),
      listClusters: db.prepare<[], ClusterRow>(
        'SELECT name, labels, seq, received_at, summary FROM clusters ORDER BY name',
      ),
      getCluster: db.prepare<[string], ClusterRow & { report: string }>(
        'SELECT * FROM clusters WHERE name = ?',
      ),
      history: db.prepare<[string, number], HistoryRow>(
        'SELECT seq, received_at, created_at, applied, summary FROM reports WHERE cluster = ? ORDER BY seq DESC LIMIT ?',
      ),
      tokenClusters: db.prepare<[], { cluster: string }>(
        'SELECT DISTINCT cluster FROM tokens ORDER BY cluster',
      ),
      allPreviews: db.prepare<[], PreviewRow>('SELECT * FROM previews ORDER BY ref, cluster'),
      refPreviews: db.prepare<[string], PreviewRow>('SELECT * FROM previews WHERE ref = ? ORDER BY cluster'),
      pruneOld: db.prepare('DELETE FROM reports WHERE received_at < ?'),
    };
    const saveOne = db.transaction((item: IncomingReport) => this.saveOne(item));
    this.saveBatch = db.transaction((batch: IncomingReport[]) =>
      batch.map((item) => this.saveGuarded(saveOne, item)),
    );
  }

  async createToken(token: TokenRecord): Promise<void> {
    this.sql.insertToken.run(token);
  }

  async findToken(id: string): Promise<TokenRecord | undefined> {
    const row = this.sql.findToken.get(id);
    return row && toToken(row);
  }

  async revokeToken(id: string, at: string): Promise<boolean> {
    if (!this.sql.tokenExists.get(id)) return false;
    this.sql.revokeToken.run(at, id);
    return true;
  }

  async listTokens(): Promise<TokenRecord[]> {
    return this.sql.listTokens.all().map(toToken);
  }

  async saveReports(batch: IncomingReport[]): Promise<SaveOutcome[]> {
    const results = this.saveBatch(batch);
    return results.map((r) => {
      if (r instanceof Error) throw r;
      return r;
    });
  }

  /** Runs one report in its own savepoint, so one failing report cannot undo the others of the batch. */
  private saveGuarded(
    saveOne: (item: IncomingReport) => SaveOutcome,
    item: IncomingReport,
  ): SaveOutcome | Error {
    try {
      return saveOne(item);
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  }

  private saveOne({ report, summary, receivedAt }: IncomingReport): SaveOutcome {
    const latest = this.sql.clusterSeq.get(report.cluster)?.seq;
    const applied = latest === undefined || report.seq > latest;
    // Only a seq at or below the latest can already be in history.
    if (!applied && (latest === report.seq || this.sql.hasSeq.get(report.cluster, report.seq))) {
      return { result: 'duplicate', latestSeq: latest };
    }
    const summaryJson = JSON.stringify(summary);
    this.sql.insertHistory.run(
      report.cluster,
      report.seq,
      receivedAt,
      report.createdAt ?? null,
      applied ? 1 : 0,
      summaryJson,
    );
    if (report.seq % this.trimEvery === 0 || !applied) {
      this.sql.trimHistory.run(report.cluster, report.cluster, this.retention.keepReports);
    }
    if (!applied) return { result: 'stale', latestSeq: latest! };
    this.sql.upsertCluster.run(
      report.cluster,
      JSON.stringify(report.labels),
      report.seq,
      receivedAt,
      summaryJson,
      JSON.stringify(report),
    );
    for (const preview of report.previews) {
      this.sql.upsertPreview.run(
        report.cluster,
        preview.ref,
        report.seq,
        receivedAt,
        JSON.stringify(preview),
      );
    }
    return { result: 'stored', latestSeq: report.seq };
  }

  async listClusters(): Promise<ClusterRecord[]> {
    return this.sql.listClusters.all().map(toCluster);
  }

  async getCluster(name: string): Promise<{ record: ClusterRecord; report: Report } | undefined> {
    const row = this.sql.getCluster.get(name);
    return row && { record: toCluster(row), report: JSON.parse(row.report) as Report };
  }

  async history(cluster: string, limit: number): Promise<HistoryEntry[]> {
    return this.sql.history.all(cluster, Math.min(limit, this.retention.keepReports)).map((row) => ({
      seq: row.seq,
      receivedAt: row.received_at,
      createdAt: row.created_at,
      applied: row.applied === 1,
      summary: JSON.parse(row.summary) as ReportSummary,
    }));
  }

  async knownClusterNames(): Promise<string[]> {
    return this.sql.tokenClusters.all().map((r) => r.cluster);
  }

  async listPreviews(filter: { ref?: string } = {}): Promise<PreviewRecord[]> {
    const rows = filter.ref === undefined ? this.sql.allPreviews.all() : this.sql.refPreviews.all(filter.ref);
    return rows.map((row) => ({
      cluster: row.cluster,
      ref: row.ref,
      seq: row.seq,
      receivedAt: row.received_at,
      preview: JSON.parse(row.preview),
    }));
  }

  async pruneHistory(now: number): Promise<number> {
    return this.sql.pruneOld.run(now - this.retention.maxAgeMs).changes;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

function toToken(row: TokenRow): TokenRecord {
  return {
    id: row.id,
    cluster: row.cluster,
    hash: row.hash,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

function toCluster(row: ClusterRow): ClusterRecord {
  return {
    name: row.name,
    labels: JSON.parse(row.labels) as Record<string, string>,
    seq: row.seq,
    receivedAt: row.received_at,
    summary: JSON.parse(row.summary) as ReportSummary,
  };
}
