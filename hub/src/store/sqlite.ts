/**
 * The default Store: one SQLite file (better-sqlite3) in WAL mode.
 *
 * Durability: `synchronous=FULL` by default, so a report answered 2xx survives a hub crash and a
 * power loss (WAL with NORMAL survives a process crash but may lose the last commits on power
 * loss). FULL costs one fsync per commit; `saveReports` takes a batch so concurrent reports share
 * one transaction and one fsync (group commit), which keeps FULL fast; with `writer: 'thread'` the
 * commits run on a writer thread so the fsync never stalls the event loop.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { Report } from '../../../contract/report.js';
import { rolloutStates } from '../fleet/rollout.js';
import { rolloutPairs } from '../fleet/rollout-observe.js';
import { FleetReads } from './fleet-reads.js';
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
import { openDatabase, type Synchronous } from './sqlite-db.js';
import { SqliteRollouts } from './sqlite-rollouts.js';
import type { WriterData, WriterRequest } from './sqlite-writer.js';
import {
  encodeHeartbeats,
  encodeRows,
  type ReportRow,
  ReportWrites,
  type RowResult,
} from './sqlite-writes.js';
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

/** How `openSqliteStore` opens the file: the retention policy, durability and where commits run. */
export interface SqliteStoreOptions {
  retention: RetentionPolicy;
  /** `full` (default): durable on power loss; `normal`: durable on process crash only. */
  synchronous?: Synchronous;
  /**
   * `thread`: reports are committed by a writer thread, so fsync never blocks the event loop (the
   * server uses this); `inline` (default): on the calling thread (admin commands, scripts).
   */
  writer?: 'inline' | 'thread';
}

/** Opens (creating if needed) the hub database at `file`. */
export async function openSqliteStore(file: string, options: SqliteStoreOptions): Promise<Store> {
  const synchronous = options.synchronous ?? 'full';
  const db = openDatabase(file, synchronous, true);
  await backfillRollout(async <T>(sql: string, params: unknown[]) => {
    const statement = db.prepare(sql);
    return (statement.reader ? statement.all(...params) : (statement.run(...params), [])) as T[];
  });
  const writer =
    options.writer === 'thread'
      ? new ThreadWriter({ file, synchronous, retention: options.retention })
      : new InlineWriter(new ReportWrites(db, options.retention));
  return new SqliteStore(db, options.retention, writer);
}

interface RowWriter {
  save(rows: ReportRow[]): Promise<RowResult[]>;
  saveHeartbeats(batch: IncomingHeartbeat[]): Promise<HeartbeatOutcome[]>;
  close(): Promise<void>;
}

class InlineWriter implements RowWriter {
  constructor(private readonly writes: ReportWrites) {}
  async save(rows: ReportRow[]): Promise<RowResult[]> {
    return this.writes.save(rows);
  }
  async saveHeartbeats(batch: IncomingHeartbeat[]): Promise<HeartbeatOutcome[]> {
    return this.writes.saveHeartbeats(batch);
  }
  async close(): Promise<void> {}
}

class ThreadWriter implements RowWriter {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve(r: unknown[]): void; reject(e: Error): void }>();
  private nextId = 1;
  private failure: Error | undefined;

  constructor(data: WriterData) {
    this.worker = startWriterThread(data);
    this.worker.on('message', (m: 'ready' | { id: number; results?: unknown[]; error?: string }) => {
      if (m === 'ready') return;
      const waiter = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.results) waiter?.resolve(m.results);
      else waiter?.reject(new Error(`hub database write failed: ${m.error}`));
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`hub database writer thread exited (${code})`)));
  }

  save(rows: ReportRow[]): Promise<RowResult[]> {
    return this.request({ rows: encodeRows(rows) }) as Promise<RowResult[]>;
  }

  saveHeartbeats(batch: IncomingHeartbeat[]): Promise<HeartbeatOutcome[]> {
    return this.request({ heartbeats: encodeHeartbeats(batch) }) as Promise<HeartbeatOutcome[]>;
  }

  private request(body: Omit<WriterRequest, 'id'>): Promise<unknown[]> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, ...body } satisfies WriterRequest);
    });
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const waiter of this.pending.values()) waiter.reject(err);
    this.pending.clear();
  }

  async close(): Promise<void> {
    if (this.failure) return;
    const exited = once(this.worker, 'exit');
    // Messages are handled in order, so every batch already sent commits before the thread closes.
    this.worker.postMessage('close');
    await exited;
  }
}

/**
 * Runs sqlite-writer.js; from source (tsx, vitest) runs sqlite-writer.ts through tsx's API, since
 * Node 20 does not apply `--import` loader hooks to worker threads.
 */
function startWriterThread(data: WriterData): Worker {
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL('./sqlite-writer.js', import.meta.url), { workerData: data });
  const entry = new URL('./sqlite-writer.ts', import.meta.url).href;
  const api = typeof import.meta.resolve === 'function' ? import.meta.resolve('tsx/esm/api') : 'tsx/esm/api';
  const code = `import(${JSON.stringify(api)}).then((tsx) => tsx.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(entry)}))`;
  return new Worker(code, { eval: true, workerData: data });
}

class SqliteStore extends SqlStore implements Store {
  private readonly sql;
  protected readonly reads: FleetReads;
  /** Fleet queries vary with the selector's shape only: a few statements, prepared once each. */
  private readonly statements = new Map<string, Database.Statement>();
  protected readonly rollouts: SqliteRollouts;

  constructor(
    private readonly db: Database.Database,
    private readonly retention: RetentionPolicy,
    private readonly writer: RowWriter,
  ) {
    super();
    this.reads = new FleetReads(
      async <T>(sql: string, params: unknown[]) => this.prepared(sql).all(...params) as T[],
    );
    this.rollouts = new SqliteRollouts(db);
    this.sql = {
      insertToken: db.prepare(
        'INSERT INTO tokens (id, cluster, hash, created_at, revoked_at) VALUES (@id, @cluster, @hash, @createdAt, @revokedAt)',
      ),
      registerCluster: db.prepare(
        `INSERT INTO clusters (name, rollout) VALUES (?, '[]') ON CONFLICT (name) DO NOTHING`,
      ),
      findToken: db.prepare<[string], TokenRow>('SELECT * FROM tokens WHERE id = ?'),
      revokeToken: db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
      tokenExists: db.prepare<[string], { id: string }>('SELECT id FROM tokens WHERE id = ?'),
      listTokens: db.prepare<[], TokenRow>('SELECT * FROM tokens ORDER BY cluster, created_at'),
      listClusters: db.prepare<[], ClusterRow>(
        'SELECT name, labels, seq, received_at, summary FROM clusters WHERE seq IS NOT NULL ORDER BY name',
      ),
      getCluster: db.prepare<[string], ClusterRow & { report: string }>(
        'SELECT * FROM clusters WHERE name = ? AND seq IS NOT NULL',
      ),
      history: db.prepare<[string, number, number], HistoryRow>(
        'SELECT seq, received_at, created_at, applied, summary FROM reports WHERE cluster = ? AND seq < ? ORDER BY seq DESC LIMIT ?',
      ),
      tokenClusters: db.prepare<[], { cluster: string }>(
        'SELECT DISTINCT cluster FROM tokens ORDER BY cluster',
      ),
      allPreviews: db.prepare<[], PreviewRow>('SELECT * FROM previews ORDER BY ref, cluster'),
      refPreviews: db.prepare<[string], PreviewRow>('SELECT * FROM previews WHERE ref = ? ORDER BY cluster'),
      pruneOld: db.prepare('DELETE FROM reports WHERE received_at < ?'),
      claimLease: db.prepare(
        `INSERT INTO leases AS l (name, holder, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE l.expires_at <= ?`,
      ),
    };
  }

  private prepared(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      if (this.statements.size >= 256) this.statements.clear();
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  async createToken(token: TokenRecord): Promise<void> {
    // The cluster is registered from its first token on: the fleet lists it before it reports.
    this.db.transaction(() => {
      this.sql.insertToken.run(token);
      this.sql.registerCluster.run(token.cluster);
    })();
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
    const results = await this.writer.save(batch.map(toRow));
    return results.map((r) => {
      if ('error' in r) throw new Error(`storing a report failed: ${r.error}`);
      return r;
    });
  }

  async saveHeartbeats(batch: IncomingHeartbeat[]): Promise<HeartbeatOutcome[]> {
    return batch.length === 0 ? [] : this.writer.saveHeartbeats(batch);
  }

  async listClusters(): Promise<ClusterRecord[]> {
    return this.sql.listClusters.all().map(toCluster);
  }

  async getCluster(name: string): Promise<{ record: ClusterRecord; report: Report } | undefined> {
    const row = this.sql.getCluster.get(name);
    return row && { record: toCluster(row), report: JSON.parse(row.report) as Report };
  }

  async history(
    cluster: string,
    limit: number,
    beforeSeq = Number.MAX_SAFE_INTEGER,
  ): Promise<HistoryEntry[]> {
    const shown = Math.min(limit, this.retention.keepReports);
    return this.sql.history.all(cluster, beforeSeq, shown).map(toHistoryEntry);
  }

  async knownClusterNames(): Promise<string[]> {
    return this.sql.tokenClusters.all().map((r) => r.cluster);
  }

  async listPreviews(filter: { ref?: string } = {}): Promise<PreviewRecord[]> {
    const rows = filter.ref === undefined ? this.sql.allPreviews.all() : this.sql.refPreviews.all(filter.ref);
    return rows.map(toPreview);
  }

  async pruneHistory(now: number): Promise<number> {
    return this.sql.pruneOld.run(now - this.retention.maxAgeMs).changes;
  }

  async claimLease(name: string, holder: string, now: number, ttlMs: number): Promise<boolean> {
    return this.sql.claimLease.run(name, holder, now + ttlMs, now).changes === 1;
  }

  async close(): Promise<void> {
    await this.writer.close();
    if (this.db.open) this.db.close();
  }
}

function encodePairs(pairs: ReturnType<typeof rolloutPairs>): string {
  return pairs.length === 0 ? '' : JSON.stringify(pairs);
}

function toRow({ report, summary, receivedAt, tokenId, reportJson }: IncomingReport): ReportRow {
  return {
    rollouts: encodePairs(rolloutPairs({ report, summary })),
    cluster: report.cluster,
    seq: report.seq,
    receivedAt,
    createdAt: report.createdAt ?? null,
    labels: JSON.stringify(report.labels),
    summary: JSON.stringify(summary),
    report: reportJson ?? JSON.stringify(report),
    previews: report.previews.map((p) => ({ ref: p.ref, preview: JSON.stringify(p) })),
    rollout: JSON.stringify(rolloutStates(summary)),
    tokenId: tokenId ?? null,
  };
}
