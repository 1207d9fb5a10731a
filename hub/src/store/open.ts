/** Opens the store a `--db` value names: a `postgres://` URL, or else a SQLite file path. */
import { isPostgresUrl, openPostgresStore } from './postgres.js';
import { openSqliteStore, type SqliteStoreOptions } from './sqlite.js';
import type { Store } from './store.js';

/** Options of either store; `poolSize` counts only for PostgreSQL, `synchronous` and `writer` only for SQLite. */
export type StoreOptions = SqliteStoreOptions & { poolSize?: number };

/** Opens (and migrates) the store `db` names: a `postgres://` URL, or else a SQLite file path. */
export async function openStore(db: string, options: StoreOptions): Promise<Store> {
  if (isPostgresUrl(db)) return openPostgresStore(db, options);
  return openSqliteStore(db, options);
}

export { isPostgresUrl };
