/** The SQLite schema, as versioned migrations (see migrations.ts). The version is kept in `PRAGMA user_version`. */
import type { Migration } from './migrations.js';

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
  {
    version: 2,
    description: 'leases: periodic work (history retention) done by one hub of many',
    sql: 'CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at INTEGER NOT NULL);',
  },
];
