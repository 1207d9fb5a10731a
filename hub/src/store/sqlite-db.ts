/** Opening the hub's SQLite file: pragmas and schema migrations, shared by the store and its writer thread. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { latestVersion, pendingMigrations } from './migrations.js';
import { SQLITE_MIGRATIONS } from './sqlite-migrations.js';

/** SQLite's `synchronous` pragma: `full` survives a power loss, `normal` only a process crash. */
export type Synchronous = 'full' | 'normal';

/** Opens the database file; `migrate` creates or checks the schema (done once, by the store). */
export function openDatabase(file: string, synchronous: Synchronous, migrate: boolean): Database.Database {
  // `--db .lab/hub.db` on a fresh checkout: make the folder, as `sqlite3` users expect a new file to just work.
  if (migrate && file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.pragma('busy_timeout = 5000');
  // 24 MiB of page cache per connection (two: reads and the writer thread): enough for the index
  // pages the views and ingest touch; the OS page cache holds the rest, so the hub's resident memory
  // stays the same whatever the fleet's size.
  db.pragma('cache_size = -24576');
  if (migrate) migrateSchema(db);
  return db;
}

/** Applies the migrations above the file's `user_version`, each with its version bump in one transaction. */
export function migrateSchema(db: Database.Database, migrations = SQLITE_MIGRATIONS): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (const m of pendingMigrations('SQLite', current, migrations)) {
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
  return latestVersion(migrations);
}
