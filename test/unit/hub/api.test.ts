import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ReportInput } from '../../../contract/report.js';
import { COMMIT_A, COMMIT_B, makeReport, removeDir, startTestHub, type TestHub, tempDir } from './helpers.js';

// Each hub starts a writer thread: generous limits keep a busy shared CI machine from failing them.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

let hub: TestHub;
let dirs: string[] = [];

beforeEach(async () => {
  hub = await startTestHub();
  dirs.push(hub.dir);
});

afterEach(async () => {
  await hub.stop();
  for (const d of dirs) removeDir(d);
  dirs = [];
});

async function body(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

async function clusters(path = '/api/v1/clusters') {
  const res = await hub.get(path);
  expect(res.status).toBe(200);
  return (await res.json()) as {
    total: number;
    counts: Record<string, number>;
    clusters: {
      name: string;
      seq: number | null;
      commit: string;
      phase: string;
      health: string;
      stale: boolean;
    }[];
  };
}

describe('POST /api/v1/reports authentication', () => {
  it('refuses a report without a bearer token with 401', async () => {
    const res = await hub.post(undefined, makeReport('prod-hz', 1));
    expect(res.status).toBe(401);
    expect((await body(res)).error).toMatch(/missing bearer token/);
  });

  it('refuses a malformed token and an unknown well-formed token with 401', async () => {
    expect((await hub.post('garbage', makeReport('prod-hz', 1))).status).toBe(401);
    const { token } = await hub.token('prod-hz');
    const forged = `${token.slice(0, -4)}AAAA`;
    const res = await hub.post(forged, makeReport('prod-hz', 1));
    expect(res.status).toBe(401);
    expect((await body(res)).error).toMatch(/unknown token/);
    expect((await clusters()).clusters).toEqual([expect.objectContaining({ name: 'prod-hz', seq: null })]);
  });

  it('refuses a revoked token with 401 and keeps accepting other tokens of the cluster', async () => {
    const old = await hub.token('prod-hz');
    const fresh = await hub.token('prod-hz');
    expect((await hub.post(old.token, makeReport('prod-hz', 1))).status).toBe(200);
    expect(await hub.store.revokeToken(old.id, new Date().toISOString())).toBe(true);
    const res = await hub.post(old.token, makeReport('prod-hz', 2));
    expect(res.status).toBe(401);
    expect((await body(res)).error).toMatch(/revoked/);
    expect((await hub.post(fresh.token, makeReport('prod-hz', 2))).status).toBe(200);
  });

  it("forbids a cluster's token from writing another cluster's status (403) and stores nothing", async () => {
    const { token } = await hub.token('prod-hz');
    const other = await hub.token('prod-sh');
    expect((await hub.post(other.token, makeReport('prod-sh', 1, { phase: 'Synced' }))).status).toBe(200);
    const res = await hub.post(token, makeReport('prod-sh', 2, { phase: 'Failed' }));
    expect(res.status).toBe(403);
    expect((await body(res)).error).toMatch(/belongs to cluster "prod-hz" and cannot report for "prod-sh"/);
    const sh = (await clusters()).clusters.find((c) => c.name === 'prod-sh');
    expect(sh).toMatchObject({ seq: 1, phase: 'Synced' });
  });
});

describe('POST /api/v1/reports validation', () => {
  it('answers 400 for a body that is not JSON', async () => {
    const { token } = await hub.token('prod-hz');
    const res = await hub.post(token, '{"cluster": "prod-hz", ');
    expect(res.status).toBe(400);
    expect((await body(res)).error).toMatch(/not valid JSON/);
  });

  it('answers 400 naming the offending field of a report that breaks the schema', async () => {
    const { token } = await hub.token('prod-hz');
    const report = makeReport('prod-hz', 1) as unknown as { sources: { sync: { phase: string } }[] };
    report.sources[0]!.sync.phase = 'Exploded';
    const res = await hub.post(token, report);
    expect(res.status).toBe(400);
    const answer = await body(res);
    expect(answer.error).toMatch(/sources\[0\]\.sync\.phase/);
    expect(answer.issues).toEqual([expect.objectContaining({ path: 'sources[0].sync.phase' })]);
  });

  it('answers 413 for a body over the size limit and stores nothing', async () => {
    await hub.stop();
    removeDir(hub.dir);
    hub = await startTestHub({ settings: { bodyLimit: 64 * 1024 } });
    dirs.push(hub.dir);
    const { token } = await hub.token('prod-hz');
    const big = makeReport('prod-hz', 1, { objects: 2000, message: 'x'.repeat(100) });
    const res = await hub.post(token, big);
    expect(res.status).toBe(413);
    expect((await body(res)).error).toMatch(/larger than the limit of 65536 bytes/);
    expect((await clusters()).clusters).toEqual([expect.objectContaining({ name: 'prod-hz', seq: null })]);
    expect((await hub.post(token, makeReport('prod-hz', 1))).status).toBe(200);
  });

  it('answers 413 for a chunked body that grows past the limit without a content-length', async () => {
    await hub.stop();
    removeDir(hub.dir);
    hub = await startTestHub({ settings: { bodyLimit: 16 * 1024 } });
    dirs.push(hub.dir);
    const { token } = await hub.token('prod-hz');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${hub.url}/api/v1/reports`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'transfer-encoding': 'chunked' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(4096, 0x20);
      let sent = 0;
      const pump = () => {
        while (sent < 64 && req.write(chunk)) sent++;
        if (sent < 64) req.once('drain', pump);
        else req.end();
      };
      pump();
    });
    expect(status).toBe(413);
  });

  it('counts rejected reports by reason in /metrics', async () => {
    const { token } = await hub.token('prod-hz');
    await hub.post(undefined, makeReport('prod-hz', 1));
    await hub.post(token, 'nope');
    await hub.post(token, makeReport('prod-sh', 1));
    await hub.post(token, makeReport('prod-hz', 1));
    const text = await (await hub.get('/metrics')).text();
    expect(text).toContain('strata_hub_reports_rejected_total{reason="unauthorized"} 1');
    expect(text).toContain('strata_hub_reports_rejected_total{reason="invalid"} 1');
    expect(text).toContain('strata_hub_reports_rejected_total{reason="forbidden"} 1');
    expect(text).toContain('strata_hub_reports_received_total{result="stored"} 1');
    expect(text).toContain('strata_hub_cluster_phase{cluster="prod-hz",phase="Synced"} 1');
    expect(text).toMatch(/strata_hub_cluster_last_seen_age_seconds\{cluster="prod-hz"\} \d/);
  });
});

describe('stored reports', () => {
  it('stores the report as sent, defaults filled in, with credentials in source URLs redacted', async () => {
    const { token } = await hub.token('prod-hz');
    const plain = makeReport('prod-hz', 1) as Record<string, unknown>;
    delete plain.previews;
    expect((await hub.post(token, plain)).status).toBe(200);
    const first = (await body(await hub.get('/api/v1/clusters/prod-hz'))).report as ReportInput;
    expect(first).toEqual({ ...plain, previews: [] });

    const secret = makeReport('prod-hz', 2);
    secret.sources[0]!.url = 'https://deploy:hunter2@git.example.com/fleet.git';
    expect((await hub.post(token, secret)).status).toBe(200);
    const second = (await body(await hub.get('/api/v1/clusters/prod-hz'))).report as ReportInput;
    expect(second.sources[0]!.url).toBe('https://***@git.example.com/fleet.git');
    expect(JSON.stringify(second)).not.toContain('hunter2');
    await hub.stop();
    for (const file of [hub.db, `${hub.db}-wal`]) {
      try {
        expect(readFileSync(file).includes('hunter2')).toBe(false);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    hub = await startTestHub({ dir: hub.dir });
  });
});

describe('report ordering', () => {
  it('ignores a replayed seq: answers duplicate and keeps one history entry', async () => {
    const { token } = await hub.token('prod-hz');
    const report = makeReport('prod-hz', 7);
    const first = await body(await hub.post(token, report));
    const again = await body(await hub.post(token, report));
    expect(first.result).toBe('stored');
    expect(again.result).toBe('duplicate');
    const history = (await body(await hub.get('/api/v1/clusters/prod-hz/history'))).history as unknown[];
    expect(history).toHaveLength(1);
  });

  it('never lets an older seq overwrite newer state, but keeps it in history as late', async () => {
    const { token } = await hub.token('prod-hz');
    await hub.post(token, makeReport('prod-hz', 10, { commit: COMMIT_B, phase: 'Synced' }));
    const late = await body(
      await hub.post(token, makeReport('prod-hz', 9, { commit: COMMIT_A, phase: 'Failed' })),
    );
    expect(late).toMatchObject({ result: 'stale', latestSeq: 10 });
    const state = (await clusters()).clusters[0]!;
    expect(state).toMatchObject({ seq: 10, commit: COMMIT_B, phase: 'Synced' });
    const history = (await body(await hub.get('/api/v1/clusters/prod-hz/history'))).history as {
      seq: number;
      applied: boolean;
    }[];
    expect(history.map((h) => [h.seq, h.applied])).toEqual([
      [10, true],
      [9, false],
    ]);
  });

  it('keeps only the configured number of history entries per cluster', async () => {
    await hub.stop();
    removeDir(hub.dir);
    hub = await startTestHub({ retention: { keepReports: 3 } });
    dirs.push(hub.dir);
    const { token } = await hub.token('prod-hz');
    for (let seq = 1; seq <= 6; seq++) await hub.post(token, makeReport('prod-hz', seq));
    const history = (await body(await hub.get('/api/v1/clusters/prod-hz/history'))).history as {
      seq: number;
    }[];
    expect(history.map((h) => h.seq)).toEqual([6, 5, 4]);
  });

  it('stores concurrent reports of many clusters without losing any', async () => {
    const tokens = await Promise.all(Array.from({ length: 40 }, (_, i) => hub.token(`c-${i}`)));
    const answers = await Promise.all(
      tokens.flatMap(({ token }, i) => [1, 2, 3].map((seq) => hub.post(token, makeReport(`c-${i}`, seq)))),
    );
    expect(answers.every((r) => r.status === 200)).toBe(true);
    const list = await clusters();
    expect(list.total).toBe(40);
    expect(list.clusters.every((c) => c.seq === 3)).toBe(true);
  });
});

describe('previews', () => {
  it('keeps the latest plan per cluster per ref, including refs reported as closed', async () => {
    const { token } = await hub.token('prod-hz');
    const withPreviews = (seq: number, previews: ReportInput['previews']) => ({
      ...makeReport('prod-hz', seq),
      previews,
    });
    const plan = {
      entries: [{ id: 'apps/Deployment/shop/web', action: 'update', diff: [{ path: '/spec/replicas' }] }],
    };
    await hub.post(
      token,
      withPreviews(1, [{ ref: 'refs/pull/7/head', commit: COMMIT_A, state: 'open', plan }]),
    );
    await hub.post(
      token,
      withPreviews(2, [
        { ref: 'refs/pull/7/head', commit: COMMIT_B, state: 'closed' },
        { ref: 'refs/pull/8/head', commit: COMMIT_A, state: 'open', plan: { entries: [] } },
      ]),
    );
    const previews = await hub.store.listPreviews();
    expect(previews.map((p) => [p.ref, p.preview.commit, p.preview.state])).toEqual([
      ['refs/pull/7/head', COMMIT_B, 'closed'],
      ['refs/pull/8/head', COMMIT_A, 'open'],
    ]);
    const one = await hub.store.listPreviews({ ref: 'refs/pull/8/head' });
    expect(one).toEqual([expect.objectContaining({ cluster: 'prod-hz', seq: 2 })]);
  });
});

describe('persistence', () => {
  it('keeps tokens, state and history across a restart on the same database file', async () => {
    const { token } = await hub.token('prod-hz');
    await hub.post(token, makeReport('prod-hz', 1, { commit: COMMIT_A }));
    await hub.post(token, makeReport('prod-hz', 2, { commit: COMMIT_B, phase: 'Progressing' }));
    const dir = hub.dir;
    await hub.stop();
    hub = await startTestHub({ dir });
    const state = (await clusters()).clusters[0]!;
    expect(state).toMatchObject({ name: 'prod-hz', seq: 2, commit: COMMIT_B, phase: 'Progressing' });
    expect(await body(await hub.post(token, makeReport('prod-hz', 2)))).toMatchObject({
      result: 'duplicate',
    });
    expect(await body(await hub.post(token, makeReport('prod-hz', 3)))).toMatchObject({ result: 'stored' });
  });
});

describe('read API', () => {
  async function seedFleet() {
    const fleet: {
      name: string;
      labels: Record<string, string>;
      commit: string;
      phase: 'Synced' | 'Failed' | 'Progressing';
    }[] = [
      { name: 'prod-eu', labels: { env: 'prod', region: 'eu' }, commit: COMMIT_A, phase: 'Synced' as const },
      { name: 'prod-us', labels: { env: 'prod', region: 'us' }, commit: COMMIT_B, phase: 'Synced' as const },
      {
        name: 'stage-eu',
        labels: { env: 'stage', region: 'eu' },
        commit: COMMIT_A,
        phase: 'Failed' as const,
      },
      {
        name: 'edge-1',
        labels: { env: 'prod', region: 'eu', tier: 'edge' },
        commit: COMMIT_A,
        phase: 'Progressing' as const,
      },
    ];
    for (const c of fleet) {
      const { token } = await hub.token(c.name);
      const health = c.phase === 'Synced' ? 'Healthy' : c.phase === 'Failed' ? 'Degraded' : 'Progressing';
      expect((await hub.post(token, makeReport(c.name, 1, { ...c, health }))).status).toBe(200);
    }
    await hub.token('never-seen');
  }

  it('lists clusters with phase counts, and filters by label selector and phase', async () => {
    await seedFleet();
    const all = await clusters();
    expect(all.clusters.map((c) => c.name)).toEqual([
      'edge-1',
      'never-seen',
      'prod-eu',
      'prod-us',
      'stage-eu',
    ]);
    expect(all.counts).toMatchObject({ Synced: 2, Failed: 1, Progressing: 1, Unknown: 1 });
    const prod = await clusters('/api/v1/clusters?selector=env%3Dprod');
    expect(prod.clusters.map((c) => c.name)).toEqual(['edge-1', 'prod-eu', 'prod-us']);
    const set = await clusters(`/api/v1/clusters?selector=${encodeURIComponent('region in (eu),!tier')}`);
    expect(set.clusters.map((c) => c.name)).toEqual(['prod-eu', 'stage-eu']);
    const failed = await clusters('/api/v1/clusters?phase=Failed');
    expect(failed.clusters.map((c) => c.name)).toEqual(['stage-eu']);
  });

  it('pages the cluster list with limit and continue, and searches by name prefix', async () => {
    await seedFleet();
    const first = (await body(await hub.get('/api/v1/clusters?limit=2'))) as {
      clusters: { name: string }[];
      continue: string | null;
      total: number;
    };
    expect(first.clusters.map((c) => c.name)).toEqual(['edge-1', 'never-seen']);
    expect(first.total).toBe(5);
    const next = `/api/v1/clusters?limit=2&continue=${encodeURIComponent(first.continue!)}`;
    const second = (await body(await hub.get(next))) as typeof first;
    expect(second.clusters.map((c) => c.name)).toEqual(['prod-eu', 'prod-us']);
    const last = (await body(
      await hub.get(`/api/v1/clusters?limit=2&continue=${encodeURIComponent(second.continue!)}`),
    )) as typeof first;
    expect(last.clusters.map((c) => c.name)).toEqual(['stage-eu']);
    expect(last.continue).toBeNull();
    const prefixed = (await body(await hub.get('/api/v1/clusters?prefix=prod-'))) as typeof first;
    expect(prefixed.clusters.map((c) => c.name)).toEqual(['prod-eu', 'prod-us']);
    expect(prefixed.total).toBe(2);
    expect((await hub.get('/api/v1/clusters?continue=garbage')).status).toBe(400);
    expect((await hub.get('/api/v1/clusters?limit=0')).status).toBe(400);
    expect((await hub.get('/api/v1/clusters?prefix=Bad%20Name')).status).toBe(400);
    const rollout = await hub.get(`/api/v1/commits/${COMMIT_A}/rollout?limit=2&continue=${first.continue}`);
    expect(rollout.status).toBe(400);
  });

  it("pages a commit's rollout and narrows it to one state", async () => {
    await seedFleet();
    const page = (await body(await hub.get(`/api/v1/commits/${COMMIT_A}/rollout?limit=3`))) as {
      clusters: { name: string; state: string }[];
      counts: Record<string, number>;
      continue: string | null;
    };
    expect(page.clusters.map((c) => c.name)).toEqual(['edge-1', 'never-seen', 'prod-eu']);
    expect(page.counts).toEqual({ healthy: 1, progressing: 1, failed: 1, behind: 1, notReported: 1 });
    const rest = (await body(
      await hub.get(
        `/api/v1/commits/${COMMIT_A}/rollout?limit=3&continue=${encodeURIComponent(page.continue!)}`,
      ),
    )) as typeof page;
    expect(rest.clusters.map((c) => c.name)).toEqual(['prod-us', 'stage-eu']);
    const failed = (await body(
      await hub.get(`/api/v1/commits/${COMMIT_A}/rollout?state=failed`),
    )) as typeof page;
    expect(failed.clusters.map((c) => [c.name, c.state])).toEqual([['stage-eu', 'failed']]);
    expect((await hub.get(`/api/v1/commits/${COMMIT_A}/rollout?state=sideways`)).status).toBe(400);
  });

  it('answers 400 naming the position of a broken selector', async () => {
    const res = await hub.get(`/api/v1/clusters?selector=${encodeURIComponent('env in (prod')}`);
    expect(res.status).toBe(400);
    expect((await body(res)).error).toMatch(/invalid label selector/);
  });

  it("shows a commit's rollout: healthy, progressing, failed, behind and not reported", async () => {
    await seedFleet();
    const res = await hub.get(`/api/v1/commits/${COMMIT_A.slice(0, 10)}/rollout`);
    const rollout = (await res.json()) as {
      counts: Record<string, number>;
      clusters: { name: string; state: string }[];
    };
    expect(Object.fromEntries(rollout.clusters.map((c) => [c.name, c.state]))).toEqual({
      'edge-1': 'progressing',
      'never-seen': 'notReported',
      'prod-eu': 'healthy',
      'prod-us': 'behind',
      'stage-eu': 'failed',
    });
    expect(rollout.counts).toEqual({ healthy: 1, progressing: 1, failed: 1, behind: 1, notReported: 1 });
    const prodOnly = (await (
      await hub.get(`/api/v1/commits/${COMMIT_A}/rollout?selector=env%3Dprod`)
    ).json()) as { clusters: { name: string }[] };
    expect(prodOnly.clusters.map((c) => c.name)).toEqual(['edge-1', 'prod-eu', 'prod-us']);
  });

  it('returns one cluster with its full report, 404 for an unknown one, 400 for a bad name or sha', async () => {
    await seedFleet();
    const one = await body(await hub.get('/api/v1/clusters/prod-eu'));
    expect(one).toMatchObject({ cluster: { name: 'prod-eu', phase: 'Synced' }, report: { seq: 1 } });
    expect((await hub.get('/api/v1/clusters/nope')).status).toBe(404);
    expect((await hub.get('/api/v1/clusters/Bad%20Name')).status).toBe(400);
    expect((await hub.get('/api/v1/commits/zzz/rollout')).status).toBe(400);
  });

  it('marks a cluster stale once it has been silent longer than the stale threshold', async () => {
    await hub.stop();
    removeDir(hub.dir);
    hub = await startTestHub({ settings: { staleAfterMs: 50 } });
    dirs.push(hub.dir);
    const { token } = await hub.token('prod-hz');
    await hub.post(token, makeReport('prod-hz', 1));
    await new Promise((r) => setTimeout(r, 120));
    expect((await clusters()).clusters[0]!.stale).toBe(true);
  });

  it('requires the read token for the read API and dashboard when one is configured', async () => {
    await hub.stop();
    removeDir(hub.dir);
    hub = await startTestHub({ settings: { readToken: 'let-me-read' } });
    dirs.push(hub.dir);
    expect((await hub.get('/api/v1/clusters')).status).toBe(401);
    expect((await hub.get('/')).headers.get('www-authenticate')).toMatch(/Basic/);
    expect((await hub.get('/api/v1/clusters', { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await hub.get('/api/v1/clusters', { authorization: 'Bearer let-me-read' })).status).toBe(200);
    const basic = `Basic ${Buffer.from('me:let-me-read').toString('base64')}`;
    expect((await hub.get('/', { authorization: basic })).status).toBe(200);
    expect((await hub.get('/healthz')).status).toBe(200);
  });
});

describe('dashboard HTML', () => {
  it('escapes report-provided strings so a hostile report cannot inject markup', async () => {
    const { token } = await hub.token('prod-hz');
    const hostile = '<img src=x onerror=alert(1)>"\'&';
    const report = makeReport('prod-hz', 1, { labels: { env: 'prod' }, message: hostile }) as ReturnType<
      typeof makeReport
    > & { sources: { ref: string; url: string }[] };
    report.sources[0]!.ref = '<script>alert(2)</script>';
    report.sources[0]!.url = 'javascript:alert(3)//<b>';
    expect((await hub.post(token, report)).status).toBe(200);
    const page = await (await hub.get('/clusters/prod-hz')).text();
    expect(page).not.toContain('<img src=x');
    expect(page).not.toContain('<script>alert(2)');
    expect(page).not.toContain('href="javascript:');
    expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;');
    expect(page).toContain('&lt;script&gt;alert(2)&lt;/script&gt;');
    const sections = (await (await hub.get('/clusters/prod-hz?format=sections')).json()) as {
      sections: Record<string, string>;
    };
    expect(sections.sections.objects).toContain('&lt;img src=x');
    expect(sections.sections.objects).not.toContain('<img');
  });

  it('serves a strict content security policy with every page', async () => {
    const res = await hub.get('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await res.text()).toContain('<script src="/assets/app.js"></script>');
  });
});

it('uses a fresh temp dir per hub', () => {
  expect(tempDir()).not.toBe(tempDir());
});
