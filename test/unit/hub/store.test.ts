/** One suite for both stores: every behaviour the hub relies on, against SQLite and a real PostgreSQL. */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PreviewStatus } from '../../../contract/report.js';
import { parseRolloutRules } from '../../../contract/rollout-rules.js';
import { parseSelector } from '../../../contract/selector.js';
import { generateToken } from '../../../hub/src/api/auth.js';
import { migrate as migratePostgres } from '../../../hub/src/store/postgres.js';
import { POSTGRES_MIGRATIONS } from '../../../hub/src/store/postgres-migrations.js';
import { migrateSchema } from '../../../hub/src/store/sqlite-db.js';
import { SQLITE_MIGRATIONS } from '../../../hub/src/store/sqlite-migrations.js';
import { AmbiguousCommitError, type Store } from '../../../hub/src/store/store.js';
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

  describe('heartbeats', () => {
    const beat = (cluster: string, seq: number, of: number, receivedAt: number, tokenId?: string) => ({
      cluster,
      seq,
      of,
      receivedAt,
      ...(tokenId ? { tokenId } : {}),
    });

    it("moves last-seen for the cluster's current report only, and never backwards", async () => {
      const t0 = Date.UTC(2026, 11, 1);
      await store.saveReports([incoming('prod-hz', 10, { receivedAt: t0 })]);
      const outcomes = await store.saveHeartbeats([
        beat('prod-hz', 12, 10, t0 + 30_000),
        beat('prod-hz', 12, 10, t0 + 31_000),
        beat('prod-hz', 11, 10, t0 + 32_000),
        beat('prod-hz', 13, 9, t0 + 33_000),
        beat('prod-hz', 14, 11, t0 + 34_000),
        beat('edge-1', 5, 4, t0 + 35_000),
      ]);
      expect(outcomes).toEqual([
        { result: 'alive', latestSeq: 10 },
        { result: 'duplicate', latestSeq: 10 },
        { result: 'duplicate', latestSeq: 10 },
        { result: 'stale', latestSeq: 10 },
        { result: 'full-report-needed', latestSeq: 10 },
        { result: 'full-report-needed' },
      ]);
      const found = await store.getCluster('prod-hz');
      expect(found?.record).toMatchObject({ seq: 10, receivedAt: t0 + 30_000 });
      // A heartbeat leaves no history row and changes no count.
      expect((await store.history('prod-hz', 50)).map((h) => h.seq)).toEqual([10]);
      expect((await store.countFleet({ selector: [] }, t0 + 20_000)).stale).toBe(0);
      expect((await store.countFleet({ selector: [] }, t0 + 40_000)).stale).toBe(1);
      // A full report after heartbeats is the state again; heartbeats then name it.
      expect(await store.saveReports([incoming('prod-hz', 15, { receivedAt: t0 + 60_000 })])).toEqual([
        { result: 'stored', latestSeq: 15 },
      ]);
      expect(await store.saveHeartbeats([beat('prod-hz', 16, 10, t0 + 61_000)])).toEqual([
        { result: 'stale', latestSeq: 15 },
      ]);
      expect(await store.saveHeartbeats([beat('prod-hz', 16, 15, t0 + 61_000)])).toEqual([
        { result: 'alive', latestSeq: 15 },
      ]);
      // An older receipt time (another replica's clock) never moves last-seen back.
      expect(await store.saveHeartbeats([beat('prod-hz', 17, 15, t0 + 50_000)])).toEqual([
        { result: 'alive', latestSeq: 15 },
      ]);
      expect((await store.getCluster('prod-hz'))?.record.receivedAt).toBe(t0 + 61_000);
    });

    it('refuses heartbeats of a revoked token or of another cluster', async () => {
      const t = await token('prod-hz');
      const other = await token('edge-1');
      await store.saveReports([incoming('prod-hz', 1, { tokenId: t.id })]);
      expect(await store.saveHeartbeats([beat('prod-hz', 2, 1, Date.now(), other.id)])).toEqual([
        { result: 'revoked' },
      ]);
      await store.revokeToken(t.id, new Date().toISOString());
      expect(await store.saveHeartbeats([beat('prod-hz', 3, 1, Date.now(), t.id)])).toEqual([
        { result: 'revoked' },
      ]);
    });

    it('records a heartbeat once when two connections get it at the same time', async () => {
      const other = await harness.open(db);
      const clusters = Array.from({ length: 30 }, (_, i) => `c-${String(i).padStart(2, '0')}`);
      await store.saveReports(clusters.map((c) => incoming(c, 1)));
      const beats = clusters.map((c) => beat(c, 2, 1, Date.now()));
      const results = (
        await Promise.all([store.saveHeartbeats(beats), other.saveHeartbeats([...beats].reverse())])
      ).flat();
      expect(results.filter((r) => r.result === 'alive')).toHaveLength(30);
      expect(results.filter((r) => r.result === 'duplicate')).toHaveLength(30);
    });
  });

  describe('fleet queries', () => {
    const selector = (text: string) => parseSelector(text);
    async function seed() {
      const fleet: [string, Record<string, string>, 'Synced' | 'Failed' | 'Progressing', string][] = [
        ['eu-1', { env: 'prod', region: 'eu' }, 'Synced', COMMIT_A],
        ['eu-2', { env: 'prod', region: 'eu', tier: 'canary' }, 'Failed', COMMIT_A],
        ['us-1', { env: 'prod', region: 'us' }, 'Synced', COMMIT_B],
        ['us-2', { env: 'stage', region: 'us' }, 'Progressing', COMMIT_A],
        ['ap-1', { env: 'stage', region: 'ap', tier: 'canary' }, 'Synced', COMMIT_A],
      ];
      await store.saveReports(
        fleet.map(([name, labels, phase, commit]) =>
          incoming(name, 1, {
            labels,
            phase,
            commit,
            health: phase === 'Synced' ? 'Healthy' : phase === 'Failed' ? 'Degraded' : 'Progressing',
            receivedAt: Date.now() - (name === 'us-1' ? 3600_000 : 0),
          }),
        ),
      );
      await token('silent-1');
      await token('eu-1');
    }
    const all = { limit: 100 };

    it('lists registered and reported clusters in name order, a page at a time', async () => {
      await seed();
      const first = await store.listFleet({ selector: [] }, { limit: 2 });
      expect(names(first)).toEqual(['ap-1', 'eu-1']);
      const second = await store.listFleet({ selector: [] }, { limit: 2, after: first.next! });
      expect(names(second)).toEqual(['eu-2', 'silent-1']);
      const last = await store.listFleet({ selector: [] }, { limit: 2, after: second.next! });
      expect(names(last)).toEqual(['us-1', 'us-2']);
      expect(last.next).toBeNull();
      const silent = (await store.listFleet({ selector: [], namePrefix: 'silent' }, all)).items[0];
      expect(silent).toEqual({ name: 'silent-1', labels: {}, seq: null, receivedAt: null, summary: null });
      expect(await store.getCluster('silent-1')).toBeUndefined();
      expect((await store.listClusters()).map((c) => c.name)).not.toContain('silent-1');
    });

    it('answers every selector operator, a name prefix and a phase from the database', async () => {
      await seed();
      const q = async (text: string, extra: { namePrefix?: string; phase?: 'Synced' } = {}) =>
        names(await store.listFleet({ selector: selector(text), ...extra }, all));
      expect(await q('env=prod')).toEqual(['eu-1', 'eu-2', 'us-1']);
      expect(await q('env!=prod')).toEqual(['ap-1', 'silent-1', 'us-2']);
      expect(await q('region in (eu,ap)')).toEqual(['ap-1', 'eu-1', 'eu-2']);
      expect(await q('region notin (eu,ap)')).toEqual(['silent-1', 'us-1', 'us-2']);
      expect(await q('tier')).toEqual(['ap-1', 'eu-2']);
      expect(await q('!tier,env=prod')).toEqual(['eu-1', 'us-1']);
      expect(await q('', { namePrefix: 'us-' })).toEqual(['us-1', 'us-2']);
      expect(await q('env=prod', { namePrefix: 'eu', phase: 'Synced' })).toEqual(['eu-1']);
      expect(await q('env=none')).toEqual([]);
    });

    it('counts by phase, health, commit and staleness, fleet-wide and for a selector', async () => {
      await seed();
      const staleBefore = Date.now() - 600_000;
      const fleet = await store.countFleet({ selector: [] }, staleBefore);
      expect(fleet).toMatchObject({
        total: 6,
        notReported: 1,
        stale: 2,
        phases: { Synced: 3, Failed: 1, Progressing: 1, Unknown: 1, OutOfSync: 0, Degraded: 0 },
        health: { Healthy: 3, Degraded: 1, Progressing: 1, Unknown: 1 },
        commits: [
          { commit: COMMIT_A, clusters: 4 },
          { commit: COMMIT_B, clusters: 1 },
        ],
      });
      const prod = await store.countFleet({ selector: selector('env=prod') }, staleBefore);
      expect(prod).toMatchObject({ total: 3, notReported: 0, stale: 1, phases: { Synced: 2, Failed: 1 } });
      // A cluster moving to another phase and commit moves between the counters.
      await store.saveReports([incoming('eu-2', 2, { labels: { env: 'prod' }, commit: COMMIT_B })]);
      await store.saveReports([incoming('silent-1', 1, { labels: { env: 'prod' } })]);
      const after = await store.countFleet({ selector: [] }, staleBefore);
      expect(after).toMatchObject({ total: 6, notReported: 0, stale: 1, phases: { Synced: 5, Failed: 0 } });
      expect(after.commits).toEqual([
        { commit: COMMIT_A, clusters: 4 },
        { commit: COMMIT_B, clusters: 2 },
      ]);
      expect(names(await store.listFleet({ selector: selector('tier') }, all))).toEqual(['ap-1']);
      // The counters agree with counting the rows themselves (a selector that matches every cluster).
      const recount = await store.countFleet({ selector: selector('!no-such-label') }, staleBefore);
      expect(recount).toEqual(after);
    });

    it('counts a one-label selector from its counters, agreeing with counting the rows as clusters change', async () => {
      await seed();
      // `X,!no-such-label` matches what X does but is counted over the rows, not label_counts.
      const agree = async (text: string, staleBefore: number) => {
        const counted = await store.countFleet({ selector: selector(text) }, staleBefore);
        const recounted = await store.countFleet(
          { selector: selector(`${text},!no-such-label`) },
          staleBefore,
        );
        expect(counted, text).toEqual(recounted);
        return counted;
      };
      const check = async () => {
        // One stale cluster in the fleet (fewer than the matches), then every one (more than the matches).
        for (const staleBefore of [Date.now() - 600_000, Date.now() + 600_000])
          for (const text of ['env=prod', 'region in (eu,us)', 'tier', 'env=none', 'env=stage'])
            await agree(text, staleBefore);
      };
      await check();
      expect(await agree('env=prod', Date.now() - 600_000)).toMatchObject({
        total: 3,
        stale: 1,
        phases: { Synced: 2, Failed: 1 },
        health: { Healthy: 2, Degraded: 1 },
      });
      expect(await agree('tier', Date.now() + 600_000)).toMatchObject({ total: 2, stale: 2 });
      // New phase and commit, new labels, a registered cluster reporting, a new cluster.
      await store.saveReports([incoming('eu-2', 2, { labels: { env: 'prod' }, commit: COMMIT_B })]);
      await store.saveReports([
        incoming('ap-1', 2, { labels: { env: 'prod', tier: 'canary' }, phase: 'Failed' }),
      ]);
      await store.saveReports([incoming('silent-1', 1, { labels: { env: 'stage', tier: 'edge' } })]);
      await store.saveReports([incoming('new-1', 1, { labels: { env: 'prod', region: 'us' } })]);
      await check();
      expect(await agree('env=prod', Date.now() - 600_000)).toMatchObject({
        total: 5,
        phases: { Synced: 4, Failed: 1, Progressing: 0 },
        commits: [
          { commit: COMMIT_A, clusters: 3 },
          { commit: COMMIT_B, clusters: 2 },
        ],
      });
      expect(await agree('tier in (canary,edge)', Date.now() - 600_000)).toMatchObject({ total: 2 });
      expect((await agree('region=eu', Date.now() - 600_000)).total).toBe(1);
    });

    it('counts stale clusters of a fleet larger than the first bound, mostly fresh or mostly stale', async () => {
      const now = Date.now();
      // 1,500 clusters (over the first bound of 1,024), 30 of them silent for an hour.
      const fleet = Array.from({ length: 1500 }, (_, i) =>
        incoming(`c-${String(i).padStart(4, '0')}`, 1, {
          labels: { env: i % 3 === 0 ? 'prod' : 'stage' },
          receivedAt: i % 50 === 0 ? now - 3600_000 : now,
        }),
      );
      for (let i = 0; i < fleet.length; i += 500) await store.saveReports(fleet.slice(i, i + 500));
      await token('never-reported');
      const at = async (staleBefore: number) => (await store.countFleet({ selector: [] }, staleBefore)).stale;
      expect(await at(now - 600_000)).toBe(30 + 1);
      expect(await at(now + 1)).toBe(1500 + 1);
      expect(await at(now - 7200_000)).toBe(0 + 1);
      // The selector paths agree with the fleet-wide one on the same line.
      const prod = await store.countFleet({ selector: selector('env=prod') }, now + 1);
      expect(prod).toMatchObject({ total: 500, stale: 500 });
      expect(prod).toEqual(await store.countFleet({ selector: selector('env=prod,!none') }, now + 1));
      expect((await store.countFleet({ selector: selector('env=prod') }, now - 600_000)).stale).toBe(10);
    });

    it("gives a commit's rollout as counts and pages, resolving an abbreviated sha", async () => {
      await seed();
      const counts = await store.rolloutCounts(COMMIT_A.slice(0, 8), []);
      expect(counts).toEqual({
        commit: COMMIT_A,
        total: 6,
        counts: { healthy: 2, progressing: 1, failed: 1, behind: 1, notReported: 1 },
      });
      const page = await store.listRollout(COMMIT_A, { selector: [] }, { limit: 4 });
      expect(page.items.map((c) => [c.name, c.state])).toEqual([
        ['ap-1', 'healthy'],
        ['eu-1', 'healthy'],
        ['eu-2', 'failed'],
        ['silent-1', 'notReported'],
      ]);
      const rest = await store.listRollout(COMMIT_A, { selector: [] }, { limit: 4, after: page.next! });
      expect(rest.items.map((c) => [c.name, c.state])).toEqual([
        ['us-1', 'behind'],
        ['us-2', 'progressing'],
      ]);
      expect(rest.next).toBeNull();
      const healthy = await store.listRollout(COMMIT_A, { selector: [], state: 'healthy' }, all);
      expect(names(healthy)).toEqual(['ap-1', 'eu-1']);
      const behind = await store.listRollout(COMMIT_A, { selector: [], state: 'behind' }, all);
      expect(names(behind)).toEqual(['us-1']);
      const prod = await store.rolloutCounts(COMMIT_A, selector('env=prod'));
      expect(prod).toEqual({
        commit: COMMIT_A,
        total: 3,
        counts: { healthy: 1, progressing: 0, failed: 1, behind: 1, notReported: 0 },
      });
      const unknown = await store.rolloutCounts('ffffffff', []);
      expect(unknown).toMatchObject({ commit: null, total: 6, counts: { behind: 5, notReported: 1 } });
    });

    it('refuses an abbreviated sha that names two commits', async () => {
      await store.saveReports([
        incoming('a-1', 1, { commit: 'abcdef1000000000000000000000000000000000' }),
        incoming('a-2', 1, { commit: 'abcdef1999999999999999999999999999999999' }),
      ]);
      await expect(store.rolloutCounts('abcdef1', [])).rejects.toThrow(AmbiguousCommitError);
      expect((await store.rolloutCounts('abcdef19', [])).commit).toBe(
        'abcdef1999999999999999999999999999999999',
      );
    });

    it('pages history backwards by seq', async () => {
      for (let seq = 1; seq <= 5; seq++) await store.saveReports([incoming('prod-hz', seq)]);
      expect((await store.history('prod-hz', 2)).map((h) => h.seq)).toEqual([5, 4]);
      expect((await store.history('prod-hz', 2, 4)).map((h) => h.seq)).toEqual([3, 2]);
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

    it("gives a preview the fleet size, the planners' labels and only the first silent clusters", async () => {
      const ref = 'refs/pull/9/head';
      const planner = (name: string) => {
        const item = incoming(name, 1, { labels: { env: 'prod', name } });
        item.report.previews = [{ ref, commit: COMMIT_A, state: 'open', plan: { entries: [] } }];
        return item;
      };
      await store.saveReports([
        planner('m-2'),
        planner('z-1'),
        incoming('a-1', 1, { labels: { env: 'stage' } }),
      ]);
      await store.saveReports([incoming('b-1', 1), incoming('c-1', 1)]);
      await token('a-0-registered');
      const fleet = await store.previewFleet(ref, 3);
      expect(fleet.total).toBe(6);
      expect(fleet.labels).toEqual({
        'm-2': { env: 'prod', name: 'm-2' },
        'z-1': { env: 'prod', name: 'z-1' },
      });
      expect(fleet.silent).toEqual([
        { name: 'a-0-registered', labels: {} },
        { name: 'a-1', labels: { env: 'stage' } },
        { name: 'b-1', labels: { env: 'prod', region: 'eu' } },
      ]);
      expect((await store.previewFleet('refs/pull/none', 10)).silent).toHaveLength(6);
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

  describe('rollouts', () => {
    const rules = parseRolloutRules({ waves: [{ name: 'canary', selector: 'tier=edge' }, { name: 'rest' }] })
      .rules!;
    const announce = (commit: string, cluster: string, at: number, digest = 'd1') =>
      store.announceRollout({
        commit,
        source: 'https://git.example/fleet.git#main',
        rules,
        digest,
        cluster,
        at,
      });
    /** A stored report of a cluster running `commit` under a rollout of `commit`. */
    const withRollout = (
      cluster: string,
      seq: number,
      receivedAt: number,
      health: 'Healthy' | 'Degraded',
    ) => {
      const item = incoming(cluster, seq, {
        commit: COMMIT_A,
        receivedAt,
        health,
        phase: health === 'Healthy' ? 'Synced' : 'Degraded',
      });
      item.report.sources[0]!.rollout = {
        commit: COMMIT_A,
        wave: 0,
        waveName: 'canary',
        released: true,
        enforcing: COMMIT_A,
        waiting: null,
      };
      return item;
    };

    it('folds reports into observations, supersedes older rollouts, marks conflicts and records control', async () => {
      expect((await announce(COMMIT_B, 'edge-1', 500)).supersededBy).toBeNull();
      const started = await announce(COMMIT_A, 'edge-1', 1000);
      expect(started).toMatchObject({ commit: COMMIT_A, startedAt: 1000, pausedAt: null, conflict: null });
      expect((await store.getRollout(COMMIT_B))?.supersededBy).toBe(COMMIT_A);
      expect((await announce(COMMIT_A, 'prod-hz', 1100)).startedAt).toBe(1000);

      await store.saveReports([withRollout('edge-1', 1, 2000, 'Healthy')]);
      await store.saveReports([withRollout('edge-1', 2, 3000, 'Healthy')]);
      await store.saveReports([withRollout('edge-1', 3, 4000, 'Degraded')]);
      await store.saveReports([withRollout('edge-1', 2, 5000, 'Healthy')]); // stale: not folded
      expect((await store.rolloutObservations(COMMIT_A)).get('edge-1')).toEqual({
        appliedAt: 2000,
        healthySince: null,
        firstHealthyAt: 2000,
        failedAt: 4000,
        releasedAt: null,
      });
      expect(await store.markReleased(COMMIT_A, 'prod-hz', 6000, { record: true })).toBe(true);
      expect(await store.markReleased(COMMIT_A, 'prod-hz', 7000, { record: true })).toBe(true);
      expect((await store.rolloutObservations(COMMIT_A)).get('prod-hz')?.releasedAt).toBe(6000);

      await store.controlRollout(COMMIT_A, 'pause', 8000, { by: 'ann' });
      await store.controlRollout(COMMIT_A, 'approve', 8100, { wave: 1 });
      await store.controlRollout(COMMIT_A, 'waive', 8150, { wave: 0, by: 'bo' });
      await store.controlRollout(COMMIT_A, 'waive', 8160, { wave: 0 });
      expect(await store.getRollout(COMMIT_A)).toMatchObject({
        pausedAt: 8000,
        approvals: { '1': 8100 },
        waivers: { '0': 8150 },
      });
      await store.controlRollout(COMMIT_A, 'resume', 8200, {});
      expect((await store.getRollout(COMMIT_A))?.pausedAt).toBeNull();
      expect(await store.controlRollout('f'.repeat(40), 'abort', 9000, {})).toBeUndefined();

      expect((await announce(COMMIT_A, 'prod-sh', 9500, 'other')).conflict).toMatch(
        /prod-sh announced other rules/,
      );
      expect((await store.listRollouts(10)).map((r) => r.commit)).toEqual([COMMIT_A, COMMIT_B]);
      expect((await store.rolloutEvents(COMMIT_A)).map((e) => [e.kind, e.detail])).toEqual([
        ['started', 'announced by edge-1'],
        ['applied', 'edge-1'],
        ['healthy', 'edge-1'],
        ['failed', 'edge-1'],
        ['released', 'prod-hz'],
        ['paused', 'by ann'],
        ['approved', 'wave 1'],
        ['waived', 'wave 0 by bo'],
        ['waived', 'wave 0'],
        ['resumed', ''],
        ['conflict', expect.stringMatching(/prod-sh/)],
      ]);
    });

    it('refuses a release decided before a pause that committed first, and keeps one made before', async () => {
      await announce(COMMIT_A, 'edge-1', 1000);
      // Replica A reads the running rollout and decides to release prod-hz; replica B's pause
      // commits before A writes the release.
      const replicaB = await harness.open(db);
      expect((await store.getRollout(COMMIT_A))?.pausedAt).toBeNull();
      await replicaB.controlRollout(COMMIT_A, 'pause', 2000, { by: 'ann' });
      expect(await store.markReleased(COMMIT_A, 'prod-hz', 2100, { record: true })).toBe(false);
      expect(await store.markReleased(COMMIT_A, 'edge-1', 2100, { record: false })).toBe(false);
      expect((await store.rolloutObservations(COMMIT_A)).get('prod-hz')?.releasedAt ?? null).toBeNull();
      await replicaB.controlRollout(COMMIT_A, 'resume', 3000, {});
      expect(await store.markReleased(COMMIT_A, 'prod-hz', 3100, { record: true })).toBe(true);
      // Released before the next pause: it keeps its release.
      await replicaB.controlRollout(COMMIT_A, 'pause', 4000, {});
      expect(await store.markReleased(COMMIT_A, 'prod-hz', 4100, { record: true })).toBe(true);
      expect(await store.markReleased(COMMIT_A, 'prod-sh', 4100, { record: true })).toBe(false);
      expect((await store.rolloutEvents(COMMIT_A)).filter((e) => e.kind === 'released')).toMatchObject([
        { detail: 'prod-hz', at: 3100 },
      ]);
    });

    // PostgreSQL only: two SQLite connections of one process answer in call order, never interleaved.
    it.skipIf(kind === 'sqlite')(
      'never lets a release land after a pause on another replica, whatever the interleaving',
      async () => {
        const replicaB = await harness.open(db);
        let refused = 0;
        for (let i = 0; i < 25; i++) {
          const commit = (i.toString(16).padStart(2, '0') + 'c'.repeat(38)).slice(0, 40);
          await announce(commit, 'edge-1', 1000 + i);
          const [released] = await Promise.all([
            store.markReleased(commit, `p${i}`, 5000, { record: true }),
            replicaB.controlRollout(commit, 'pause', 5000, {}),
          ]);
          const kinds = (await store.rolloutEvents(commit)).map((e) => e.kind);
          const pausedAt = kinds.indexOf('paused');
          const releasedAt = kinds.indexOf('released');
          // Either the release committed first (and the timeline says so) or it was refused.
          if (released) expect(releasedAt).toBeGreaterThanOrEqual(0);
          else {
            refused++;
            expect(releasedAt).toBe(-1);
          }
          if (releasedAt >= 0) expect(releasedAt).toBeLessThan(pausedAt);
        }
        // Both orders happen: the loop above checked the refusal, not just the easy case.
        expect(refused).toBeGreaterThan(0);
      },
    );
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

    it('upgrades a database of schema version 2 with clusters in it, rollout states included', async () => {
      const old = await harness.newDatabase();
      const report = incoming('old-1', 4, { labels: { env: 'prod' }, commit: COMMIT_A });
      await writeVersion2(kind, old, [
        `INSERT INTO tokens (id, cluster, hash, created_at) VALUES ('00000000000000aa', 'old-1', 'x', 'now')`,
        `INSERT INTO tokens (id, cluster, hash, created_at) VALUES ('00000000000000bb', 'old-silent', 'x', 'now')`,
        `INSERT INTO clusters (name, labels, seq, received_at, summary, report) VALUES ('old-1',
          '${JSON.stringify(report.report.labels)}', 4, ${report.receivedAt}, '${JSON.stringify(report.summary)}',
          '${JSON.stringify(report.report)}')`,
      ]);
      const upgraded = await harness.open(old);
      expect(names(await upgraded.listFleet({ selector: parseSelector('env=prod') }, { limit: 10 }))).toEqual(
        ['old-1'],
      );
      expect((await upgraded.listFleet({ selector: [] }, { limit: 10 })).items.map((c) => c.name)).toEqual([
        'old-1',
        'old-silent',
      ]);
      expect(await upgraded.rolloutCounts(COMMIT_A, [])).toMatchObject({
        commit: COMMIT_A,
        counts: { healthy: 1, notReported: 1 },
      });
      expect(await upgraded.saveReports([incoming('old-1', 4)])).toEqual([
        { result: 'duplicate', latestSeq: 4 },
      ]);
    });

    it('upgrades a database of schema version 6 to the label counters, counting the clusters it holds', async () => {
      const old = await harness.newDatabase();
      const rows = [
        incoming('v6-1', 3, { labels: { env: 'prod', tier: 'canary' }, commit: COMMIT_A }),
        incoming('v6-2', 5, {
          labels: { env: 'prod' },
          phase: 'Failed',
          health: 'Degraded',
          commit: COMMIT_B,
        }),
        incoming('v6-3', 1, { labels: { env: 'stage' } }),
      ];
      await writeVersion(
        kind,
        old,
        6,
        rows.map(
          (
            r,
          ) => `INSERT INTO clusters (name, labels, seq, received_at, summary, report, phase, health, commit_sha, rollout)
            VALUES ('${r.report.cluster}', '${JSON.stringify(r.report.labels)}', ${r.report.seq}, ${r.receivedAt},
            '${JSON.stringify(r.summary)}', '${JSON.stringify(r.report)}', '${r.summary.phase}', '${r.summary.health}',
            '${r.summary.commit}', '[]')`,
        ),
      );
      const upgraded = await harness.open(old);
      const prod = await upgraded.countFleet({ selector: parseSelector('env=prod') }, 0);
      expect(prod).toMatchObject({
        total: 2,
        phases: { Synced: 1, Failed: 1 },
        health: { Healthy: 1, Degraded: 1 },
      });
      expect(prod).toEqual(await upgraded.countFleet({ selector: parseSelector('env=prod,!none') }, 0));
      expect((await upgraded.countFleet({ selector: parseSelector('tier') }, 0)).total).toBe(1);
      // The triggers keep the counters from then on.
      await upgraded.saveReports([incoming('v6-2', 6, { labels: { env: 'prod' } })]);
      expect(await upgraded.countFleet({ selector: parseSelector('env=prod') }, 0)).toMatchObject({
        total: 2,
        phases: { Synced: 2, Failed: 0 },
      });
    });
  });
});

function names(page: { items: { name: string }[] }): string[] {
  return page.items.map((c) => c.name);
}

/** A database as a hub of schema version 2 left it, with `statements` run on it. */
function writeVersion2(kind: string, db: string, statements: string[]): Promise<void> {
  return writeVersion(kind, db, 2, statements);
}

/** A database as a hub of schema `version` left it, with `statements` run on it. */
async function writeVersion(kind: string, db: string, version: number, statements: string[]): Promise<void> {
  if (kind === 'sqlite') {
    const Database = (await import('better-sqlite3')).default;
    const file = new Database(db);
    migrateSchema(file, SQLITE_MIGRATIONS.slice(0, version));
    for (const sql of statements) file.exec(sql);
    file.close();
    return;
  }
  const pg = (await import('pg')).default;
  const pool = new pg.Pool({ connectionString: db });
  await migratePostgres(pool, POSTGRES_MIGRATIONS.slice(0, version));
  for (const sql of statements) await pool.query(sql);
  await pool.end();
}

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
