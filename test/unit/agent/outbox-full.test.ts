// A state directory that fills up must degrade the outbox, never stop the agent. SQLite's own page
// limit (max_page_count on the outbox's connection) gives a real SQLITE_FULL on demand here; the
// fault campaign fills a real loop-mounted filesystem under the bundled agent.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Outbox, OutboxStorageError } from '../../../agent/src/report/outbox.js';
import type { ReportInput } from '../../../contract/report.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'strata-outbox-full-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function report(seq: number, size: number): ReportInput {
  return {
    cluster: 'edge-1',
    labels: { region: 'hz', note: 'x'.repeat(Math.min(size, 63)) },
    seq,
    agent: { version: '0.1.0', startedAt: '2026-01-01T00:00:00Z' },
    sources: [
      {
        url: 'https://g/fleet.git',
        ref: 'y'.repeat(size),
        commit: null,
        fetchedAt: null,
        reachable: true,
        error: null,
        sync: null,
        health: null,
      },
    ],
  };
}

/** The outbox's own connection: the page limit must hold on it. */
const connection = (outbox: Outbox) => (outbox as unknown as { db: Database.Database }).db;

describe('outbox on a full disk', () => {
  it('refuses a write with OutboxStorageError, says so, and takes writes again once there is room', () => {
    const outbox = Outbox.open(path.join(dir, 'full.db'), { maxReports: 100 });
    const first = outbox.enqueue('s', (seq) => report(seq, 10));
    const db = connection(outbox);
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages}`);
    expect(() => outbox.enqueue('s', (seq) => report(seq, 200_000))).toThrow(OutboxStorageError);
    expect(outbox.storageError?.code).toBe('SQLITE_FULL');
    // What was stored before is still there, and still first in line.
    expect(outbox.peek()?.seq).toBe(first);
    // Delivery goes on: an acknowledged report leaves the queue even while writes fail.
    outbox.ack(first);
    expect(outbox.peek()).toBeUndefined();
    expect(outbox.stats().pending).toBe(0);
    db.pragma('max_page_count = 1073741823');
    const next = outbox.enqueue('s', (seq) => report(seq, 200_000));
    expect(next).toBeGreaterThan(first);
    expect(outbox.storageError).toBeUndefined();
    expect(outbox.list().map((e) => e.seq)).toEqual([next]);
    outbox.close();
  });
});
