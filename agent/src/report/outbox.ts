/**
 * The outbox: every report is written to a SQLite file (synchronous=FULL, so a committed report
 * survives a crash or power loss) before anyone tries to send it. `seq` is allocated in the same
 * transaction as the insert, so it is monotonic across restarts and never reused (a new file starts
 * at the clock in ms, so a lost state directory cannot rewind it). When the outbox
 * holds more than `maxReports`, the oldest reports are folded into the next newer report of the
 * same key (latest wins) and that report's `compacted` count grows: nothing vanishes silently.
 *
 * A full (or failing) disk degrades the outbox instead of stopping the agent: a report the hub has
 * acknowledged is remembered as delivered in memory and deleted from the file once a write succeeds
 * again (the hub ignores the one resend a restart in between may cause: it keeps each seq once); a
 * report that cannot be written throws OutboxStorageError for the caller to retry later, and
 * `storageError` says what is failing and since when.
 */
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { REPORT_CONTENT } from '../../../contract/limits.js';
import type { ReportInput } from '../../../contract/report.js';

/** One stored report with its sequence number and delivery state. */
export interface OutboxEntry {
  seq: number;
  /** Reports with the same key supersede each other when compacted (e.g. the set of sources). */
  key: string;
  report: ReportInput;
  attempts: number;
  createdAt: string;
}

/** The outbox's size and backlog, for metrics. */
export interface OutboxStats {
  pending: number;
  rejected: number;
  /** Reports removed by folding them into newer ones, since the outbox file was created. */
  folded: number;
  lastSeq: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS pending (
  seq INTEGER PRIMARY KEY,
  key TEXT NOT NULL,
  created_at TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pending_by_key ON pending (key, seq);
CREATE TABLE IF NOT EXISTS rejected (
  seq INTEGER PRIMARY KEY,
  rejected_at TEXT NOT NULL,
  reason TEXT NOT NULL,
  body TEXT NOT NULL
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('folded', 0);
`;

/** The outbox file is not a readable SQLite database. */
export class OutboxCorruptError extends Error {
  constructor(
    readonly file: string,
    readonly detail: string,
  ) {
    super(`outbox ${file} is damaged: ${detail}`);
    this.name = 'OutboxCorruptError';
  }
}

/** The outbox file cannot be written now (the disk is full or failing); nothing stored was lost. */
export class OutboxStorageError extends Error {
  constructor(
    readonly code: string,
    detail: string,
  ) {
    super(`outbox cannot be written (${code}): ${detail}`);
    this.name = 'OutboxStorageError';
  }
}

/** SQLite's codes for a write the disk refused: out of space, or an I/O error. */
function isStorageFailure(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR');
}

function isCorruption(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return err instanceof OutboxCorruptError || code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT');
}

/**
 * A seq is handed out only once the wall clock (ms) has reached it, so every seq stays at or below the
 * clock and a new file, which starts at the clock, is above every seq an earlier (lost or damaged)
 * file handed out. That paces bursts to one report per millisecond; an agent writes a few per
 * interval. A seq far ahead of the clock (the clock was stepped back) is handed out at once: waiting
 * for the clock would stop reporting for as long as the step.
 */
const MAX_CLOCK_WAIT_MS = 1000;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

function waitForClock(seq: number): void {
  const ahead = seq - Date.now();
  if (ahead > 0 && ahead <= MAX_CLOCK_WAIT_MS) Atomics.wait(sleeper, 0, 0, ahead);
}

/** Rejected reports kept for inspection; older ones are deleted beyond this. */
const MAX_REJECTED = 100;

/**
 * Reports waiting for the hub, in SQLite so they survive restarts; bounded, oldest dropped first.
 */
export class Outbox {
  private readonly db: Database.Database;
  /** Every seq up to this one is at the hub; some may still be in the file until a delete succeeds. */
  private deliveredThrough = 0;
  private failing: { code: string; message: string; since: string } | undefined;

  private constructor(
    file: string,
    private readonly maxReports: number,
  ) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      // A damaged page is found now, at start, rather than by the first report written into it.
      const check = this.db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw new OutboxCorruptError(file, String(check));
      this.db.exec(SCHEMA);
    } catch (err) {
      this.db.close();
      throw err;
    }
    // A new state directory starts seq at the clock (ms), above anything an earlier state directory
    // of this cluster sent, so the hub never takes its reports for stale replays.
    this.db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('seq', ?)").run(Date.now());
  }

  /**
   * Opens (or creates) the outbox. A file SQLite cannot read (a damaged disk, a torn copy) is moved
   * aside to `<file>.corrupt-<time>` (kept for inspection, never deleted) and a new outbox is started,
   * so the agent keeps reporting instead of failing at every start; `onQuarantine` is told where.
   */
  static open(
    file: string,
    opts: { maxReports: number; onQuarantine?: (movedTo: string, err: Error) => void },
  ): Outbox {
    try {
      return new Outbox(file, opts.maxReports);
    } catch (err) {
      if (!isCorruption(err)) throw err;
      const movedTo = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      for (const suffix of ['', '-wal', '-shm']) {
        if (existsSync(file + suffix)) renameSync(file + suffix, movedTo + suffix);
      }
      opts.onQuarantine?.(movedTo, err as Error);
      return new Outbox(file, opts.maxReports);
    }
  }

  /**
   * Store a report durably. `build` receives the allocated seq; returns it once the report is on
   * disk. Compacts in the same transaction when the outbox is over its bound.
   */
  enqueue(key: string, build: (seq: number) => ReportInput, now = new Date()): number {
    this.dropDelivered();
    return this.storing(() => this.insert(key, build, now));
  }

  /** Set while the file cannot be written: the SQLite code, its message and the first failure's time. */
  get storageError(): { code: string; message: string; since: string } | undefined {
    return this.failing && { ...this.failing };
  }

  private insert(key: string, build: (seq: number) => ReportInput, now: Date): number {
    return this.db.transaction(() => {
      const seq = this.meta('seq') + 1;
      waitForClock(seq);
      this.setMeta('seq', seq);
      const report = build(seq);
      this.db
        .prepare('INSERT INTO pending (seq, key, created_at, body) VALUES (?, ?, ?, ?)')
        .run(seq, key, now.toISOString(), JSON.stringify(report));
      this.compact();
      return seq;
    })();
  }

  /** The oldest report not yet delivered. */
  peek(): OutboxEntry | undefined {
    const row = this.db
      .prepare('SELECT seq, key, created_at, attempts, body FROM pending WHERE seq > ? ORDER BY seq LIMIT 1')
      .get(this.deliveredThrough) as
      | { seq: number; key: string; created_at: string; attempts: number; body: string }
      | undefined;
    if (!row) return undefined;
    return {
      seq: row.seq,
      key: row.key,
      createdAt: row.created_at,
      attempts: row.attempts,
      report: JSON.parse(row.body) as ReportInput,
    };
  }

  /**
   * The hub has the report (and, delivery being in order, every older one): remove it. When the
   * file cannot be written now, it is remembered as delivered and deleted by a later write.
   */
  ack(seq: number): void {
    this.deliveredThrough = Math.max(this.deliveredThrough, seq);
    this.dropDelivered();
  }

  /** Counts a failed send (for diagnostics only: skipped while the file cannot be written). */
  recordAttempt(seq: number): void {
    try {
      this.storing(() =>
        this.db.prepare('UPDATE pending SET attempts = attempts + 1 WHERE seq = ?').run(seq),
      );
    } catch (err) {
      if (!(err instanceof OutboxStorageError)) throw err;
    }
  }

  /** The hub refused the report for good (invalid): keep it aside with the reason, move on. */
  reject(seq: number, reason: string, now = new Date()): void {
    this.storing(() => this.setAside(seq, reason, now));
  }

  private setAside(seq: number, reason: string, now: Date): void {
    this.db.transaction(() => {
      const row = this.db.prepare('SELECT body FROM pending WHERE seq = ?').get(seq) as
        | { body: string }
        | undefined;
      if (!row) return;
      this.db
        .prepare('INSERT OR REPLACE INTO rejected (seq, rejected_at, reason, body) VALUES (?, ?, ?, ?)')
        .run(seq, now.toISOString(), reason.slice(0, REPORT_CONTENT.maxMessageChars), row.body);
      this.db.prepare('DELETE FROM pending WHERE seq = ?').run(seq);
      this.db
        .prepare('DELETE FROM rejected WHERE seq NOT IN (SELECT seq FROM rejected ORDER BY seq DESC LIMIT ?)')
        .run(MAX_REJECTED);
    })();
  }

  stats(): OutboxStats {
    const count = (sql: string) => (this.db.prepare(sql).get() as { n: number }).n;
    return {
      pending: (
        this.db.prepare('SELECT COUNT(*) AS n FROM pending WHERE seq > ?').get(this.deliveredThrough) as {
          n: number;
        }
      ).n,
      rejected: count('SELECT COUNT(*) AS n FROM rejected'),
      folded: this.meta('folded'),
      lastSeq: this.meta('seq'),
    };
  }

  /** Every pending entry in seq order (for tests and `strata agent` diagnostics). */
  list(): OutboxEntry[] {
    const rows = this.db
      .prepare('SELECT seq, key, created_at, attempts, body FROM pending WHERE seq > ? ORDER BY seq')
      .all(this.deliveredThrough) as {
      seq: number;
      key: string;
      created_at: string;
      attempts: number;
      body: string;
    }[];
    return rows.map((r) => ({
      seq: r.seq,
      key: r.key,
      createdAt: r.created_at,
      attempts: r.attempts,
      report: JSON.parse(r.body) as ReportInput,
    }));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Runs a write; a disk that refuses it becomes OutboxStorageError and marks the outbox failing. */
  private storing<T>(write: () => T): T {
    try {
      const result = write();
      this.failing = undefined;
      return result;
    } catch (err) {
      if (!isStorageFailure(err)) throw err;
      const code = (err as { code: string }).code;
      const message = (err as Error).message;
      this.failing = { code, message, since: this.failing?.since ?? new Date().toISOString() };
      throw new OutboxStorageError(code, message);
    }
  }

  /** Delete the reports the hub has; kept for a later try when the file cannot be written now. */
  private dropDelivered(): void {
    if (this.deliveredThrough === 0) return;
    try {
      this.storing(() => this.db.prepare('DELETE FROM pending WHERE seq <= ?').run(this.deliveredThrough));
    } catch (err) {
      if (!(err instanceof OutboxStorageError)) throw err;
    }
  }

  /** Fold the oldest reports into the next newer one of the same key until the bound holds. */
  private compact(): void {
    let excess = this.stats().pending - this.maxReports;
    if (excess <= 0) return;
    const rows = this.db
      .prepare('SELECT seq, key, body FROM pending WHERE seq > ? ORDER BY seq')
      .all(this.deliveredThrough) as {
      seq: number;
      key: string;
      body: string;
    }[];
    for (const row of rows) {
      if (excess <= 0) break;
      if (this.foldIntoNewer(row)) excess--;
    }
  }

  private foldIntoNewer(victim: { seq: number; key: string; body: string }): boolean {
    const newer = this.db
      .prepare('SELECT seq, body FROM pending WHERE key = ? AND seq > ? ORDER BY seq LIMIT 1')
      .get(victim.key, victim.seq) as { seq: number; body: string } | undefined;
    // The newest report of its key is never folded: it is what the hub must eventually see.
    if (!newer) return false;
    const folded = 1 + ((JSON.parse(victim.body) as ReportInput).compacted ?? 0);
    const report = JSON.parse(newer.body) as ReportInput;
    report.compacted = (report.compacted ?? 0) + folded;
    this.db.prepare('UPDATE pending SET body = ? WHERE seq = ?').run(JSON.stringify(report), newer.seq);
    this.db.prepare('DELETE FROM pending WHERE seq = ?').run(victim.seq);
    this.setMeta('folded', this.meta('folded') + 1);
    return true;
  }

  private meta(key: string): number {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: number }).value;
  }

  private setMeta(key: string, value: number): void {
    this.db.prepare('UPDATE meta SET value = ? WHERE key = ?').run(value, key);
  }
}
