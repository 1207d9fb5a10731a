// The agent daemon end to end: the real `strata agent` process, the real test Git server (git
// http-backend), the lab's real kube-apiserver, and a real HTTP receiver (plus the real hub).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateToken } from '../../hub/src/api/auth.js';
import { type RunningHub, startHub } from '../../hub/src/hub.js';
import {
  commitFiles,
  createRepo,
  forcePush,
  type GitServer,
  startGitServer,
  type TestRepo,
} from '../git/index.js';
import {
  type AgentProcess,
  type Receiver,
  spawnAgent,
  startReceiver,
  waitFor,
  writeAgentConfig,
} from './agent-harness.js';
import { labCluster } from './support/lab.js';

const NS = 'agent-e2e';
const PARENT_NS = 'strata-agent-e2e';
const cluster = labCluster('edge');
const core = cluster.kubeConfig.makeApiClient(CoreV1Api);

let tmp: string;
let git: GitServer;
let repo: TestRepo;

const namespaceYaml = `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${NS} }\n`;
const configMap = (name: string, value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name}, namespace: ${NS} }\ndata: { value: "${value}" }\n`;

async function liveValue(name: string): Promise<string | undefined> {
  try {
    const cm = await core.readNamespacedConfigMap({ name, namespace: NS });
    return cm.data?.value;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

async function agentConfig(name: string, over: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(path.join(tmp, `${name}-`));
  return writeAgentConfig(dir, {
    cluster: { name: 'edge', labels: { region: 'edge' } },
    sources: [{ name: 'fleet', url: git.url('fleet'), ref: 'main', interval: '1h', timeout: '5s' }],
    kube: { kubeconfig: cluster.kubeconfigPath, namespace: PARENT_NS },
    stateDir: path.join(dir, 'state'),
    listen: '127.0.0.1:0',
    outbox: { minBackoff: '100ms', maxBackoff: '1s' },
    log: { level: 'info' },
    ...over,
  });
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'strata-agent-e2e-'));
  repo = await createRepo(path.join(tmp, 'repos'), 'fleet');
  git = await startGitServer({ root: path.join(tmp, 'repos') });
});

afterAll(async () => {
  await git?.close();
  for (const name of [NS, PARENT_NS]) await core.deleteNamespace({ name }).catch(() => {});
  await rm(tmp, { recursive: true, force: true });
});

describe('strata agent against a real cluster', () => {
  let agent: AgentProcess;
  let receiver: Receiver;
  let c1: string;
  let c2: string;

  beforeAll(async () => {
    c1 = await commitFiles(repo, {
      'global/ns.yaml': namespaceYaml,
      'global/web.yaml': configMap('web', 'one'),
    });
    receiver = await startReceiver();
    agent = spawnAgent(await agentConfig('main', { hub: { url: receiver.url, timeout: '2s' } }));
    await agent.port;
  });
  afterAll(async () => {
    await agent?.kill('SIGTERM');
    await receiver?.stop();
  });

  it('applies the commit on a manual trigger', async () => {
    const result = await agent.sync();
    expect(result.sources[0]).toMatchObject({ commit: c1, reachable: true });
    expect(await liveValue('web')).toBe('one');
    c2 = await commitFiles(repo, {
      'global/web.yaml': configMap('web', 'two'),
      'global/extra.yaml': configMap('extra', 'x'),
    });
    await agent.sync();
    expect(await liveValue('web')).toBe('two');
    expect(await liveValue('extra')).toBe('x');
    const last = await waitFor('the report of c2', async () =>
      receiver.reports.find((r) => r.sources[0]?.sync?.commit === c2),
    );
    expect(last.sources[0]?.sync?.phase).not.toBe('Failed');
  });

  it('keeps the last commit while Git is down, says SourceUnavailable, and catches up after', async () => {
    await git.stop();
    const c3 = await commitFiles(repo, { 'global/web.yaml': configMap('web', 'three') });
    try {
      const down = await agent.sync();
      expect(down.sources[0]).toMatchObject({ commit: c2, reachable: false });
      expect(await liveValue('web')).toBe('two');
      const report = await waitFor('a SourceUnavailable report', async () =>
        receiver.reports.find((r) => r.sources[0]?.error?.reason === 'SourceUnavailable'),
      );
      expect(report.sources[0]?.commit).toBe(c2);
      expect(report.sources[0]?.error?.since).toBeTruthy();
      expect(await agent.metrics()).toMatch(/strata_source_reachable\{source="fleet"\} 0/);
    } finally {
      await git.start();
    }
    const up = await agent.sync();
    expect(up.sources[0]).toMatchObject({ commit: c3, reachable: true });
    expect(await liveValue('web')).toBe('three');
  });

  it('delivers every report in order after the receiver was down', async () => {
    const before = receiver.reports.length;
    const maxSeqBefore = Math.max(...receiver.reports.map((r) => r.seq));
    await receiver.stop();
    for (let i = 0; i < 5; i++) {
      await commitFiles(repo, { 'global/web.yaml': configMap('web', `offline-${i}`) });
      await agent.sync();
    }
    expect(await agent.metrics()).toMatch(/strata_outbox_depth [1-9]/);
    await receiver.start();
    await waitFor(
      'the outbox to drain',
      async () => /strata_outbox_depth 0\b/.test(await agent.metrics()),
      30_000,
    );
    const seqs = receiver.reports.slice(before).map((r) => r.seq);
    expect(seqs.length).toBeGreaterThanOrEqual(5);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    // No gap: every seq the agent wrote after the last one delivered arrived.
    expect(seqs[0]).toBe(maxSeqBefore + 1);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe((seqs[i - 1] as number) + 1);
    expect(receiver.reports.at(-1)?.sources[0]?.sync?.phase).not.toBe('Failed');
    expect(receiver.invalid).toEqual([]);
  });

  it('applies a force-push to an older commit as that commit, pruning what it lacks', async () => {
    await forcePush(repo, 'main', c1);
    const result = await agent.sync();
    expect(result.sources[0]?.commit).toBe(c1);
    expect(await liveValue('web')).toBe('one');
    expect(await liveValue('extra')).toBeUndefined();
  });
});

describe('strata agent shutdown', () => {
  it('exits 0 on SIGTERM after flushing its outbox', { timeout: 300_000 }, async () => {
    const receiver = await startReceiver();
    await commitFiles(repo, { 'global/ns.yaml': namespaceYaml, 'global/term.yaml': configMap('term', 't') });
    const agent = spawnAgent(await agentConfig('term', { hub: { url: receiver.url, timeout: '2s' } }));
    try {
      await agent.sync();
      const sent = receiver.reports.length;
      expect(await agent.kill('SIGTERM')).toBe(0);
      expect(agent.logs.some((l) => l.msg === 'Outbox flushed.' && l.drained === true)).toBe(true);
      expect(receiver.reports.length).toBeGreaterThanOrEqual(Math.max(sent, 1));
    } finally {
      await receiver.stop();
    }
  });
});

describe('strata agent on a schedule', () => {
  it('applies a push on the next scheduled cycle without a trigger', { timeout: 300_000 }, async () => {
    await commitFiles(repo, {
      'global/ns.yaml': namespaceYaml,
      'global/sched.yaml': configMap('sched', 'a'),
    });
    const agent = spawnAgent(
      await agentConfig('schedule', {
        sources: [{ name: 'fleet', url: git.url('fleet'), ref: 'main', interval: '2s', timeout: '5s' }],
      }),
    );
    try {
      await waitFor('the first scheduled apply', async () => (await liveValue('sched')) === 'a', 180_000);
      await commitFiles(repo, { 'global/sched.yaml': configMap('sched', 'b') });
      await waitFor(
        'the pushed commit applied by the schedule',
        async () => (await liveValue('sched')) === 'b',
        30_000,
      );
    } finally {
      await agent.kill('SIGTERM');
    }
  });
});

describe('strata agent reporting to the real hub', () => {
  let hub: RunningHub;

  beforeAll(async () => {
    hub = await startHub({
      db: path.join(tmp, 'hub.db'),
      host: '127.0.0.1',
      port: 0,
      logger: pino({ level: 'silent' }),
      settings: { publicRead: true },
    });
  });
  afterAll(() => hub?.stop());

  it('delivers its status with the cluster token and the hub records the commit', {
    timeout: 300_000,
  }, async () => {
    const created = generateToken('edge', new Date());
    await hub.store.createToken(created.record);
    const tokenFile = path.join(tmp, 'hub-token');
    await writeFile(tokenFile, `${created.token}\n`);
    const commit = await commitFiles(repo, {
      'global/ns.yaml': namespaceYaml,
      'global/hub.yaml': configMap('hub', 'h'),
    });
    const agent = spawnAgent(await agentConfig('hub', { hub: { url: hub.url, tokenFile, timeout: '2s' } }));
    try {
      await agent.sync();
      await waitFor('the outbox to drain', async () => /strata_outbox_depth 0\b/.test(await agent.metrics()));
      const history = await hub.store.history('edge', 10);
      expect(history.length).toBeGreaterThan(0);
      expect(JSON.stringify(history[0])).toContain(commit);
      const logs = JSON.stringify(agent.logs);
      expect(logs).not.toContain(created.token);
    } finally {
      await agent.kill('SIGTERM');
    }
  });

  it('delivers every report it wrote to the real hub once and in order after the hub was down', {
    timeout: 300_000,
  }, async () => {
    const created = generateToken('edge-down', new Date());
    await hub.store.createToken(created.record);
    const tokenFile = path.join(tmp, 'hub-token-down');
    await writeFile(tokenFile, `${created.token}\n`);
    const agent = spawnAgent(
      await agentConfig('hub-down', {
        cluster: { name: 'edge-down', labels: { region: 'edge' } },
        // Every report in full: each seq the agent wrote is then a row of the hub's history (a
        // heartbeat, sent for a report that changed only in its timestamps, leaves none).
        hub: { url: hub.url, tokenFile, timeout: '2s', fullReportEvery: 0 },
        log: { level: 'debug' },
      }),
    );
    const db = path.join(tmp, 'hub.db');
    const port = Number(new URL(hub.url).port);
    try {
      await agent.sync();
      await waitFor('the outbox to drain', async () => /strata_outbox_depth 0\b/.test(await agent.metrics()));
      await hub.stop();
      let last = '';
      for (let i = 0; i < 4; i++) {
        last = await commitFiles(repo, { 'global/hub.yaml': configMap('hub', `down-${i}`) });
        await agent.sync();
      }
      expect(await agent.metrics()).toMatch(/strata_outbox_depth [1-9]/);
      hub = await startHub({
        db,
        host: '127.0.0.1',
        port,
        logger: pino({ level: 'silent' }),
        settings: { publicRead: true },
      });
      await waitFor(
        'the outbox to drain',
        async () => /strata_outbox_depth 0\b/.test(await agent.metrics()),
        60_000,
      );
      const written = agent.logs
        .filter((l) => l.msg === 'Report written to the outbox.')
        .map((l) => l.seq as number);
      // A reconcile coalesced into the last sync may write one more report just after the drain.
      const storedAll = async () =>
        (await hub.store.history('edge-down', 1000)).sort((a, b) => a.seq - b.seq);
      await waitFor(
        `every written report (${written.join(',')}) at the hub`,
        async () => {
          const seqs = (await storedAll()).map((h) => h.seq);
          return written.every((seq) => seqs.includes(seq));
        },
        30_000,
      );
      const history = await storedAll();
      const stored = history.map((h) => h.seq);
      // Every report the agent wrote is at the hub, once, each the newest when it arrived (in order).
      expect(written.length).toBeGreaterThanOrEqual(5);
      expect(written.filter((seq) => !stored.includes(seq))).toEqual([]);
      expect(new Set(stored).size).toBe(stored.length);
      expect(history.filter((h) => !h.applied)).toEqual([]);
      expect(JSON.stringify(history.at(-1))).toContain(last);
    } finally {
      await agent.kill('SIGTERM');
    }
  });
});
