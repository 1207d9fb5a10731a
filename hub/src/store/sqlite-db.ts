/** Opening the hub's SQLite file: pragmas and schema migration, shared by the store and its writer thread. */
import Database from 'better-sqlite3';

export type Synchronous = 'full' | 'normal';

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

/** Opens the database file; `migrate` creates or checks the schema (done once, by the store). */
export function openDatabase(file: string, synchronous: Synchronous, migrate: boolean): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.pragma('busy_timeout = 5000');
  // Keep the whole working set of a large fleet (cluster rows, tokens, index pages) in memory.
  db.pragma('cache_size = -65536');
  if (migrate) migrateSchema(db);
  return db;
}

function migrateSchema(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new Error(`hub database schema version ${version} is newer than this hub (${SCHEMA_VERSION})`);
  }
  db.exec(SCHEMA);
  db.pragma(`user_version = ${SCHEMA_VERSION}`);
}
