import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from '../../../agent/src/commands/agent.js';
import { validate } from '../../../agent/src/config/load.js';
import { createLogger } from '../../../agent/src/log.js';
import type { Pipeline, PipelineInput } from '../../../agent/src/loop/index.js';
import { protectFromPrune } from '../../../agent/src/prune/select.js';
import { renderCluster } from '../../../agent/src/render/index.js';
import { subTree } from '../../../agent/src/source/subtree.js';
import { REDACTED } from '../../../contract/redact.js';
import type { ReportInput } from '../../../contract/report.js';
import { commitFiles, createRepo, type GitServer, startGitServer, type TestRepo } from '../../git/index.js';

/**
 * The loop with a recording pipeline: render is real, the cluster steps are replaced by a record
 * of what would be applied (unit tests have no cluster; test/e2e/agent*.test.ts run the real engine).
 */
function recordingPipeline() {
  const runs: { source: string; commit: string; ids: string[] }[] = [];
  let delayMs = 0;
  const pipeline: Pipeline = {
    async reconcile({ source, commit, tree }: PipelineInput) {
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      const rendered = await renderCluster(subTree(tree, source.path), {
        name: 'edge-1',
        labels: { region: 'hz' },
      });
      const ids = rendered.ok ? rendered.objects.map((o) => o.id).sort() : [];
      runs.push({ source: source.name, commit, ids });
      return {
        sync: {
          phase: rendered.ok ? 'Synced' : 'Failed',
          commit,
          finishedAt: new Date().toISOString(),
          created: ids.length,
          updated: 0,
          pruned: 0,
          unchanged: 0,
          conflicts: [],
          errors: rendered.ok
            ? []
            : rendered.errors.map((e) => ({ message: e.message, reason: 'RenderError' })),
        },
        health: { status: 'Healthy', objects: ids.map((id) => ({ id, status: 'Current', message: '' })) },
        drift: [],
      };
    },
  };
  return {
    runs,
    pipeline,
    slow(ms: number) {
      delayMs = ms;
    },
  };
}

const cm = (name: string, value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name}, namespace: shop }\ndata: { v: "${value}" }\n`;

let tmp: string;
let server: GitServer;
let repo: TestRepo;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'strata-loop-'));
  repo = await createRepo(path.join(tmp, 'repos'), 'fleet');
  server = await startGitServer({ root: path.join(tmp, 'repos') });
});
afterAll(async () => {
  await server.close();
  await rm(tmp, { recursive: true, force: true });
});

async function agentWith(
  name: string,
  sources: unknown[],
  pipeline: Pipeline,
  extra: Record<string, unknown> = {},
): Promise<RunningAgent> {
  const config = validate({
    cluster: { name: 'edge-1', labels: { region: 'hz' } },
    sources,
    stateDir: path.join(tmp, name),
    listen: '127.0.0.1:0',
    log: { level: 'warn' },
    ...extra,
  });
  return startAgent(config, pino({ level: 'silent' }), { pipeline });
}

const lastReport = (agent: RunningAgent): ReportInput | undefined => agent.outbox.list().at(-1)?.report;

describe('reconcile loop', () => {
  it('applies a pushed commit on a manual trigger and reports it through the outbox', async () => {
    const c1 = await commitFiles(repo, { 'global/a.yaml': cm('a', '1') });
    const rec = recordingPipeline();
    const agent = await agentWith('manual', [{ url: server.url('fleet'), interval: '1h' }], rec.pipeline);
    try {
      await agent.loop.trigger('manual');
      expect(rec.runs.at(-1)).toEqual({ source: 'fleet', commit: c1, ids: ['/ConfigMap/shop/a'] });
      const c2 = await commitFiles(repo, { 'global/b.yaml': cm('b', '1') });
      const [status] = await agent.loop.trigger('manual');
      expect(status?.commit).toBe(c2);
      expect(rec.runs.at(-1)?.ids).toEqual(['/ConfigMap/shop/a', '/ConfigMap/shop/b']);
      const report = lastReport(agent);
      expect(report?.sources[0]).toMatchObject({
        commit: c2,
        reachable: true,
        sync: { phase: 'Synced', commit: c2 },
      });
      const [s1, s2] = agent.outbox.list().map((e) => e.seq);
      expect(s2).toBe((s1 as number) + 1);
    } finally {
      await agent.shutdown('test');
    }
  });

  it('keeps reconciling a good source when another one is broken', async () => {
    const good = await commitFiles(repo, { 'global/g.yaml': cm('g', '1') });
    const rec = recordingPipeline();
    const agent = await agentWith(
      'broken',
      [
        { name: 'broken', url: 'http://127.0.0.1:9/nothing.git', interval: '1h', timeout: '2s' },
        { name: 'good', url: server.url('fleet'), interval: '1h' },
      ],
      rec.pipeline,
    );
    try {
      const [broken, ok] = await agent.loop.trigger('manual');
      expect(broken).toMatchObject({
        commit: null,
        reachable: false,
        error: { reason: 'SourceUnavailable' },
      });
      expect(ok).toMatchObject({ commit: good, reachable: true, sync: { phase: 'Synced' } });
      expect(rec.runs.map((r) => r.source)).toEqual(['good']);
    } finally {
      await agent.shutdown('test');
    }
  });

  it('coalesces triggers that arrive during a reconcile into one more run', async () => {
    await commitFiles(repo, { 'global/c.yaml': cm('c', '1') });
    const rec = recordingPipeline();
    rec.slow(300);
    const agent = await agentWith('coalesce', [{ url: server.url('fleet'), interval: '1h' }], rec.pipeline);
    try {
      await Promise.all([1, 2, 3, 4, 5].map(() => agent.loop.trigger('manual')));
      expect(rec.runs).toHaveLength(2);
    } finally {
      await agent.shutdown('test');
    }
  });

  it('reconciles on its schedule', async () => {
    const rec = recordingPipeline();
    const agent = await agentWith('schedule', [{ url: server.url('fleet'), interval: '1s' }], rec.pipeline);
    try {
      agent.loop.start();
      const deadline = Date.now() + 20_000;
      while (rec.runs.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(rec.runs.length).toBeGreaterThanOrEqual(3);
    } finally {
      await agent.shutdown('test');
    }
  });

  it('re-renders a watched folder source shortly after an edit', async () => {
    const folder = path.join(tmp, 'local-fleet');
    await mkdir(path.join(folder, 'global'), { recursive: true });
    await writeFile(path.join(folder, 'global', 'x.yaml'), cm('x', '1'));
    const rec = recordingPipeline();
    const agent = await agentWith(
      'folder',
      [{ url: folder, interval: '1h', debounce: '100ms' }],
      rec.pipeline,
    );
    try {
      agent.loop.start();
      const wait = async (n: number) => {
        const deadline = Date.now() + 8000;
        while (rec.runs.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      };
      await wait(1);
      await new Promise((r) => setTimeout(r, 300));
      await writeFile(path.join(folder, 'global', 'z.yaml'), cm('z', '1'));
      await wait(2);
      expect(rec.runs.at(-1)?.ids).toEqual(['/ConfigMap/shop/x', '/ConfigMap/shop/z']);
      expect(rec.runs.at(-1)?.commit).toMatch(/^dir-[0-9a-f]{40}$/);
    } finally {
      await agent.shutdown('test');
    }
  });
});

describe('graceful shutdown', () => {
  it('finishes the reconcile in flight and flushes the outbox to the hub before closing', async () => {
    await commitFiles(repo, { 'global/s.yaml': cm('s', '1') });
    const got: number[] = [];
    const hub = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        got.push((JSON.parse(body) as ReportInput).seq);
        res.end('{}');
      });
    });
    await new Promise<void>((r) => hub.listen(0, '127.0.0.1', r));
    const rec = recordingPipeline();
    rec.slow(500);
    const config = validate({
      cluster: { name: 'edge-1', labels: {} },
      sources: [{ url: server.url('fleet'), interval: '1h' }],
      hub: { url: `http://127.0.0.1:${(hub.address() as AddressInfo).port}` },
      stateDir: path.join(tmp, 'shutdown'),
      listen: '127.0.0.1:0',
    });
    const agent = await startAgent(config, pino({ level: 'silent' }), { pipeline: rec.pipeline });
    try {
      const running = agent.loop.trigger('manual');
      await new Promise((r) => setTimeout(r, 100));
      await agent.shutdown('SIGTERM');
      await running;
      expect(rec.runs).toHaveLength(1);
      expect(got).toHaveLength(1);
    } finally {
      await new Promise<void>((r) => hub.close(() => r()));
    }
  });
});

describe('agent HTTP port', () => {
  it('serves healthz, readyz after the first reconcile, metrics, and POST /sync', async () => {
    await commitFiles(repo, { 'global/h.yaml': cm('h', '1') });
    const rec = recordingPipeline();
    const agent = await agentWith('http', [{ url: server.url('fleet'), interval: '1h' }], rec.pipeline);
    const base = `http://127.0.0.1:${agent.server.port}`;
    try {
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
      const sync = await fetch(`${base}/sync`, { method: 'POST' });
      expect(sync.status).toBe(200);
      const body = (await sync.json()) as { sources: { phase: string; reachable: boolean }[] };
      expect(body.sources[0]).toMatchObject({ phase: 'Synced', reachable: true });
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      expect((await fetch(`${base}/sync?source=nope`, { method: 'POST' })).status).toBe(404);
      expect((await fetch(`${base}/sync`)).status).toBe(405);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/strata_source_reachable\{source="fleet"\} 1/);
      expect(metrics).toMatch(/strata_outbox_depth 1/);
      expect(metrics).toMatch(/strata_sync_duration_seconds_count\{source="fleet"\} 1/);
      expect(metrics).toMatch(/strata_sync_phase\{source="fleet",phase="Synced"\} 1/);
      expect(metrics).toMatch(/strata_objects\{source="fleet",status="Current"\} \d+/);
      expect(metrics).toMatch(/strata_last_successful_sync_timestamp_seconds\{source="fleet"\} \d+/);
    } finally {
      await agent.shutdown('test');
    }
  });
});

/** This machine's first non-loopback IPv4 address: a client the agent must not take for a local one. */
function externalAddress(): string {
  const found = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal);
  if (!found) throw new Error('this test needs a non-loopback IPv4 interface (none found)');
  return found.address;
}

describe('POST /sync authentication', () => {
  it('answers only loopback clients without a token file; probes and metrics stay open to all', async () => {
    await commitFiles(repo, { 'global/l.yaml': cm('l', '1') });
    const rec = recordingPipeline();
    const agent = await agentWith(
      'sync-loopback',
      [{ url: server.url('fleet'), interval: '1h' }],
      rec.pipeline,
      {
        listen: '0.0.0.0:0',
      },
    );
    const outside = `http://${externalAddress()}:${agent.server.port}`;
    try {
      const refused = await fetch(`${outside}/sync`, { method: 'POST' });
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { error: string }).error).toMatch(
        /only loopback clients; set syncTokenFile/,
      );
      expect(rec.runs).toHaveLength(0);
      expect((await fetch(`${outside}/healthz`)).status).toBe(200);
      expect((await fetch(`${outside}/metrics`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${agent.server.port}/sync`, { method: 'POST' })).status).toBe(
        200,
      );
      expect(rec.runs).toHaveLength(1);
    } finally {
      await agent.shutdown('test');
    }
  });

  it('with a token file, needs the bearer token from every client, and reads a rotated token', async () => {
    const tokenFile = path.join(tmp, 'sync-token.txt');
    await writeFile(tokenFile, 'first-token\n');
    const rec = recordingPipeline();
    const agent = await agentWith(
      'sync-token',
      [{ url: server.url('fleet'), interval: '1h' }],
      rec.pipeline,
      {
        listen: '0.0.0.0:0',
        syncTokenFile: tokenFile,
      },
    );
    const post = (base: string, token?: string) =>
      fetch(`${base}/sync`, {
        method: 'POST',
        ...(token !== undefined ? { headers: { authorization: `Bearer ${token}` } } : {}),
      });
    const local = `http://127.0.0.1:${agent.server.port}`;
    const outside = `http://${externalAddress()}:${agent.server.port}`;
    try {
      const bare = await post(local);
      expect(bare.status).toBe(401);
      expect(bare.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await post(outside, 'first-tokeN')).status).toBe(401);
      expect((await post(outside, 'first')).status).toBe(401);
      expect(rec.runs).toHaveLength(0);
      expect((await post(outside, 'first-token')).status).toBe(200);
      expect(rec.runs).toHaveLength(1);
      await writeFile(tokenFile, 'second-token');
      expect((await post(local, 'first-token')).status).toBe(401);
      expect((await post(local, 'second-token')).status).toBe(200);
      await writeFile(tokenFile, '');
      const empty = await post(local, '');
      expect(empty.status).toBe(401);
      const afterEmpty = await post(local, 'second-token');
      expect(afterEmpty.status).toBe(403);
      expect(await afterEmpty.text()).not.toContain(tokenFile);
      expect(rec.runs).toHaveLength(2);
    } finally {
      await agent.shutdown('test');
    }
  });

  it('refuses to start with an empty or missing token file, naming it', async () => {
    const empty = path.join(tmp, 'empty-token');
    await writeFile(empty, '  \n');
    await expect(
      agentWith('sync-empty', [{ url: server.url('fleet'), interval: '1h' }], recordingPipeline().pipeline, {
        syncTokenFile: empty,
      }),
    ).rejects.toThrow(`syncTokenFile ${empty}: the file is empty`);
    const missing = path.join(tmp, 'no-such-token');
    await expect(
      agentWith(
        'sync-missing',
        [{ url: server.url('fleet'), interval: '1h' }],
        recordingPipeline().pipeline,
        {
          syncTokenFile: missing,
        },
      ),
    ).rejects.toThrow(`syncTokenFile ${missing}: cannot be read`);
  });
});

describe('prune allow-list', () => {
  it('marks kinds outside the allow-list with the keep annotation and leaves allowed kinds alone', () => {
    const deploy = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', annotations: { a: 'b' } },
    };
    const map = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } };
    expect(protectFromPrune(deploy, ['*'])).toBe(deploy);
    expect(protectFromPrune(deploy, ['apps/*'])).toBe(deploy);
    expect(protectFromPrune(map, ['/ConfigMap'])).toBe(map);
    expect(protectFromPrune(deploy, ['/ConfigMap']).metadata.annotations).toEqual({
      a: 'b',
      'strata.dev/prune': 'false',
    });
    expect(protectFromPrune(map, ['apps/Deployment']).metadata.annotations).toEqual({
      'strata.dev/prune': 'false',
    });
    expect(deploy.metadata.annotations).toEqual({ a: 'b' });
  });
});

describe('agent logger', () => {
  it('redacts tokens, passwords, authorization headers and Secret values', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _e, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const log = createLogger('info', sink);
    log.info(
      {
        token: 'tok-1',
        auth: { password: 'pw-2' },
        headers: { authorization: 'Bearer tok-3' },
        object: { kind: 'Secret', metadata: { name: 's' }, data: { key: 'c2VjcmV0' } },
      },
      'hello',
    );
    const text = lines.join('');
    for (const secret of ['tok-1', 'pw-2', 'tok-3', 'c2VjcmV0']) expect(text).not.toContain(secret);
    const parsed = JSON.parse(text) as { object: { data: Record<string, string> } };
    expect(parsed.object.data).toEqual({ key: REDACTED });
  });
});
