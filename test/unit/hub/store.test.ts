/** One suite for both stores: every behaviour the hub relies on, against SQLite and a real PostgreSQL. */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PreviewStatus } from '../../../agent/src/report/schema.js';
import { generateToken } from '../../../hub/src/api/auth.js';
import type { Store } from '../../../hub/src/store/store.js';
import { COMMIT_A, COMMIT_B } from './helpers.js';
import { incoming, STORE_KINDS, type StoreHarness, storeHarness } from './store-harness.js';

vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

describe.each(STORE_KINDS)('%s store', (kind) => {
  let harness: StoreHarness;
  let db: string;
  let store: Store;

  beforeAll(async () => {
    harness = await storeHarness(kind);
  });
  afterAll(async () => {
    await harness?.close();
  });
  beforeEach(async () => {
    db = await harness.newDatabase();
    store = await harness.open(db);
  });

  async function token(cluster: string) {
    const created = generateToken(cluster, new Date('2026-11-01T00:00:00Z'));
    await store.createToken(created.record);
    return created.record;
  }

  describe('tokens', () => {
    it('finds, lists and revokes tokens; revoking an unknown id answers false', async () => {
      const a = await token('prod-hz');
      const b = await token('edge-1');
      expect(await store.findToken(a.id)).toEqual(a);
      expect(await store.findToken('ffffffffffffffff')).toBeUndefined();
      expect((await store.listTokens()).map((t) => t.cluster)).toEqual(['edge-1', 'prod-hz']);
      expect(await store.revokeToken(a.id, '2026-11-02T00:00:00.000Z')).toBe(true);
      expect(await store.revokeToken(a.id, '2026-11-03T00:00:00.000Z')).toBe(true);
      expect((await store.findToken(a.id))?.revokedAt).toBe('2026-11-02T00:00:00.000Z');
      expect(await store.revokeToken('ffffffffffffffff', '2026-11-02T00:00:00.000Z')).toBe(false);
      expect((await store.findToken(b.id))?.revokedAt).toBeNull();
      expect(await store.knownClusterNames()).toEqual(['edge-1', 'prod-hz']);
    });

    it('refuses to store a report of a revoked token, or of a token of another cluster', async () => {
      const t = await token('prod-hz');
      const other = await token('edge-1');
      expect(await store.saveReports([incoming('prod-hz', 1, { tokenId: t.id })])).toEqual([
        { result: 'stored', latestSeq: 1 },
      ]);
      expect(await store.saveReports([incoming('prod-hz', 2, { tokenId: other.id })])).toEqual([
        { result: 'revoked' },
      ]);
      await store.revokeToken(t.id, new Date().toISOString());
      expect(await store.saveReports([incoming('prod-hz', 3, { tokenId: t.id })])).toEqual([
        { result: 'revoked' },
      ]);
      expect((await store.getCluster('prod-hz'))?.record.seq).toBe(1);
    });

    it('sees a revocation made through another connection on the very next report', async () => {
      const t = await token('prod-hz');
      const other = await harness.open(db);
      await other.revokeToken(t.id, new Date().toISOString());
      expect(await store.saveReports([incoming('prod-hz', 1, { tokenId: t.id })])).toEqual([
        { result: 'revoked' },
      ]);
    });
  });

  describe('reports', () => {
    it('stores the latest state and answers duplicate for a replayed seq and stale for an older one', async () => {
      const outcomes = await store.saveReports([
        incoming('prod-hz', 5, { commit: COMMIT_A }),
        incoming('prod-hz', 5, { commit: COMMIT_A }),
        incoming('prod-hz', 4, { commit: COMMIT_B, phase: 'Failed' }),
        incoming('edge-1', 1),
      ]);
      expect(outcomes).toEqual([
        { result: 'stored', latestSeq: 5 },
        { result: 'duplicate', latestSeq: 5 },
        { result: 'stale', latestSeq: 5 },
        { result: 'stored', latestSeq: 1 },
      ]);
      expect(await store.saveReports([incoming('prod-hz', 4)])).toEqual([
        { result: 'duplicate', latestSeq: 5 },
      ]);
      const found = await store.getCluster('prod-hz');
      expect(found?.record).toMatchObject({
        name: 'prod-hz',
        seq: 5,
        summary: { commit: COMMIT_A, phase: 'Synced' },
      });
      expect(found?.report.sources[0]?.sync?.commit).toBe(COMMIT_A);
      expect((await store.history('prod-hz', 50)).map((h) => [h.seq, h.applied])).toEqual([
        [5, true],
        [4, false],
      ]);
      expect((await store.listClusters()).map((c) => c.name)).toEqual(['edge-1', 'prod-hz']);
      expect(await store.getCluster('nope')).toBeUndefined();
    });

    it('stores the report text exactly as given when the caller has it', async () => {
      const item = incoming('prod-hz', 1);
      const text = `${JSON.stringify(item.report)}   `;
      await store.saveReports([{ ...item, reportJson: text }]);
      expect((await store.getCluster('prod-hz'))?.report).toEqual(item.report);
    });

    it('keeps only keepReports history entries per cluster', async () => {
      const small = await harness.open(await harness.newDatabase(), { keepReports: 3 });
      for (let seq = 1; seq <= 7; seq++) await small.saveReports([incoming('prod-hz', seq)]);
      expect((await small.history('prod-hz', 50)).map((h) => h.seq)).toEqual([7, 6, 5]);
    });

    it('drops history older than the retention period and keeps the current state', async () => {
      const day = 24 * 3600_000;
      const now = Date.UTC(2026, 10, 30);
      await store.saveReports([incoming('prod-hz', 1, { receivedAt: now - 40 * day })]);
      await store.saveReports([incoming('prod-hz', 2, { receivedAt: now - day })]);
      expect(await store.pruneHistory(now)).toBe(1);
      expect((await store.history('prod-hz', 50)).map((h) => h.seq)).toEqual([2]);
      expect((await store.getCluster('prod-hz'))?.record.seq).toBe(2);
    });

    it('stores concurrent batches from two connections once each, whatever the interleaving', async () => {
      const other = await harness.open(db);
      const clusters = Array.from({ length: 30 }, (_, i) => `c-${String(i).padStart(2, '0')}`);
      const batch = (seq: number) => clusters.map((c) => incoming(c, seq));
      const results = await Promise.all([
        store.saveReports(batch(1)),
        other.saveReports(batch(1)),
        store.saveReports([...batch(2)].reverse()),
        other.saveReports(batch(2)),
      ]);
      const counts = (outcomes: { result: string }[][]) => {
        const n: Record<string, number> = {};
        for (const o of outcomes.flat()) n[o.result] = (n[o.result] ?? 0) + 1;
        return n;
      };
      const first = counts([results[0]!, results[1]!]);
      const second = counts([results[2]!, results[3]!]);
      // Each seq is written once (stored, or stale when seq 2 got there first); its copy is a duplicate.
      expect((first.stored ?? 0) + (first.stale ?? 0)).toBe(30);
      expect(first.duplicate).toBe(30);
      expect(second).toEqual({ stored: 30, duplicate: 30 });
      for (const c of clusters) {
        expect((await store.getCluster(c))?.record.seq).toBe(2);
        expect((await store.history(c, 50)).map((h) => h.seq)).toEqual([2, 1]);
      }
    });
  });

  describe('previews', () => {
    it('keeps the latest plan per cluster per ref', async () => {
      const preview = (ref: string, commit: string): PreviewStatus => ({
        ref,
        commit,
        state: 'open',
        plannedAt: new Date().toISOString(),
        plan: { entries: [{ id: 'apps/Deployment/shop/web', action: 'update' }] },
      });
      const withPreviews = (seq: number, previews: PreviewStatus[]) => {
        const item = incoming('prod-hz', seq);
        item.report.previews = previews;
        return item;
      };
      await store.saveReports([
        withPreviews(1, [preview('refs/pull/7/head', COMMIT_A), preview('refs/pull/8/head', COMMIT_A)]),
      ]);
      await store.saveReports([withPreviews(2, [preview('refs/pull/7/head', COMMIT_B)])]);
      const all = await store.listPreviews();
      expect(all.map((p) => [p.ref, p.seq, p.preview.commit])).toEqual([
        ['refs/pull/7/head', 2, COMMIT_B],
        ['refs/pull/8/head', 1, COMMIT_A],
      ]);
      expect((await store.listPreviews({ ref: 'refs/pull/8/head' })).map((p) => p.cluster)).toEqual([
        'prod-hz',
      ]);
    });
  });

  describe('leases', () => {
    it('grants a lease to one holder until it expires', async () => {
      const other = await harness.open(db);
      expect(await store.claimLease('history-retention', 'a', 1000, 500)).toBe(true);
      expect(await other.claimLease('history-retention', 'b', 1200, 500)).toBe(false);
      expect(await store.claimLease('history-retention', 'a', 1300, 500)).toBe(false);
      expect(await other.claimLease('history-retention', 'b', 1500, 500)).toBe(true);
      expect(await store.claimLease('other-work', 'a', 1500, 500)).toBe(true);
    });
  });

  describe('migrations', () => {
    it('reopens a migrated database without changing it, and refuses one from a newer hub', async () => {
      await store.saveReports([incoming('prod-hz', 1)]);
      await store.close();
      store = await harness.open(db);
      expect((await store.getCluster('prod-hz'))?.record.seq).toBe(1);
      await markNewer(kind, db);
      await expect(harness.open(db)).rejects.toThrow(/schema version \d+, newer than this hub/);
    });
  });
});

/** Pretends a newer hub migrated the database. */
async function markNewer(kind: string, db: string): Promise<void> {
  if (kind === 'sqlite') {
    const Database = (await import('better-sqlite3')).default;
    const file = new Database(db);
    file.pragma('user_version = 999');
    file.close();
    return;
  }
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: db });
  await client.connect();
  await client.query(`INSERT INTO schema_migrations (version, description) VALUES (999, 'from the future')`);
  await client.end();
}
