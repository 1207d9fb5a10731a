/**
 * The two stores the hub ships, opened fresh for each test: a SQLite file in a temp dir, and a
 * database of its own on one private PostgreSQL server per test file (test/support/postgres.ts).
 */
import { join } from 'node:path';
import { Report } from '../../../contract/report.js';
import { summariseReport } from '../../../hub/src/fleet/summary.js';
import { openStore } from '../../../hub/src/store/open.js';
import type { IncomingReport, RetentionPolicy, Store } from '../../../hub/src/store/store.js';
import { type PostgresServer, startPostgres } from '../../support/postgres.js';
import { makeReport, removeDir, tempDir } from './helpers.js';

export type StoreKind = 'sqlite' | 'postgres';
export const STORE_KINDS: StoreKind[] = ['sqlite', 'postgres'];

export interface StoreHarness {
  /** A new, empty database of this kind: a file path or a postgres:// URL. */
  newDatabase(): Promise<string>;
  open(db: string, retention?: Partial<RetentionPolicy>): Promise<Store>;
  close(): Promise<void>;
}

const RETENTION: RetentionPolicy = { keepReports: 200, maxAgeMs: 30 * 24 * 3600_000 };

export async function storeHarness(kind: StoreKind): Promise<StoreHarness> {
  const opened: Store[] = [];
  const dirs: string[] = [];
  let server: PostgresServer | undefined;
  let databases = 0;
  if (kind === 'postgres') server = await startPostgres();
  return {
    async newDatabase() {
      if (server) return server.createDatabase(`t${++databases}`);
      const dir = tempDir();
      dirs.push(dir);
      return join(dir, 'hub.db');
    },
    async open(db, retention = {}) {
      const store = await openStore(db, { retention: { ...RETENTION, ...retention } });
      opened.push(store);
      return store;
    },
    async close() {
      for (const store of opened.splice(0)) await store.close().catch(() => {});
      for (const dir of dirs.splice(0)) removeDir(dir);
      await server?.stop();
    },
  };
}

/** A report as the ingest path hands it to the store. */
export function incoming(
  cluster: string,
  seq: number,
  options: Parameters<typeof makeReport>[2] & { tokenId?: string; receivedAt?: number } = {},
): IncomingReport {
  const report = Report.parse(makeReport(cluster, seq, options));
  return {
    report,
    summary: summariseReport(report),
    receivedAt: options.receivedAt ?? Date.now(),
    ...(options.tokenId ? { tokenId: options.tokenId } : {}),
  };
}
