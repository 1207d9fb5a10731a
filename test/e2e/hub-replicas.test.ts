// Two stateless hub replicas on one PostgreSQL behind a round-robin balancer, three real agents
// (one per lab cluster) reporting through it, and one replica SIGKILLed while they report: every
// report each agent made reaches the database exactly once, whichever replica stored it.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Outbox } from '../../agent/src/report/outbox.js';
import { commitFiles, createRepo, type GitServer, startGitServer } from '../git/index.js';
import { type PostgresServer, startPostgres } from '../support/postgres.js';
import { type RoundRobin, startRoundRobin } from '../support/round-robin.js';
import { type AgentProcess, spawnAgent, waitFor, writeAgentConfig } from './agent-harness.js';
import { LAB_CLUSTER_NAMES, labCluster } from './support/lab.js';

const CLI = path.resolve('agent/src/cli.ts');
const PARENT_NS = 'strata-hub-replicas';
const NS = 'hub-replicas-e2e';
const run = promisify(execFile);

interface HubReplica {
  proc: ChildProcess;
  port: number;
  exited: Promise<unknown>;
}

async function strata(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', CLI, ...args], { timeout: 60_000 });
  return stdout;
}

async function spawnReplica(db: string): Promise<HubReplica> {
  const args = [
    '--import',
    'tsx',
    CLI,
    'hub',
    'serve',
    '--db',
    db,
    '--listen',
    '127.0.0.1:0',
    '--public-read',
  ];
  const proc = spawn(process.execPath, [...args, '--keep-reports', '100000'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const m = /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(output);
      if (m) resolve(Number(m[1]));
    });
    proc.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    void exited.then(() => reject(new Error(`hub replica exited before listening: ${output.slice(-2000)}`)));
  });
  return { proc, port, exited };
}

let tmp: string;
let postgres: PostgresServer;
let db: string;
let git: GitServer;
let replicas: HubReplica[] = [];
let balancer: RoundRobin;
const agents: AgentProcess[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'strata-hub-replicas-'));
  postgres = await startPostgres();
  db = await postgres.createDatabase('hub');
  const repo = await createRepo(path.join(tmp, 'repos'), 'fleet');
  await commitFiles(repo, {
    'global/ns.yaml': `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${NS} }\n`,
    'global/cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: web, namespace: ${NS} }\ndata: { v: "1" }\n`,
  });
  git = await startGitServer({ root: path.join(tmp, 'repos') });
  // Two replicas starting together on an empty database: the schema is migrated once.
  replicas = await Promise.all([spawnReplica(db), spawnReplica(db)]);
  balancer = await startRoundRobin(replicas.map((r) => ({ host: '127.0.0.1', port: r.port })));
}, 180_000);

afterAll(async () => {
  for (const agent of agents) await agent.kill('SIGKILL');
  for (const r of replicas) {
    if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill('SIGTERM');
    await r.exited;
  }
  await balancer?.close();
  await git?.close();
  await postgres?.stop();
  for (const name of LAB_CLUSTER_NAMES) {
    const api = labCluster(name).kubeConfig;
    const { CoreV1Api } = await import('@kubernetes/client-node');
    await api
      .makeApiClient(CoreV1Api)
      .deleteNamespace({ name: NS })
      .catch(() => {});
  }
  await rm(tmp, { recursive: true, force: true });
});

async function history(cluster: string): Promise<number[]> {
  const res = await fetch(`${balancer.url}/api/v1/clusters/${cluster}/history?limit=1000`);
  const body = (await res.json()) as { history: { seq: number }[] };
  return body.history.map((h) => h.seq).sort((a, b) => a - b);
}

describe('hub replicas on one PostgreSQL', () => {
  it('loses and duplicates no report of real agents when one replica is killed during ingest', {
    timeout: 300_000,
  }, async () => {
    const firstSeq = new Map<string, number>();
    const outboxes = new Map<string, string>();
    for (const name of LAB_CLUSTER_NAMES) {
      const token = (await strata('hub', 'token', 'create', name, '--db', db)).trim();
      const dir = await mkdtemp(path.join(tmp, `${name}-`));
      await writeFile(path.join(dir, 'token'), `${token}\n`);
      // Open the outbox before the agent does, to learn the seq its first report will follow.
      const outboxFile = path.join(dir, 'state', 'outbox.db');
      const outbox = Outbox.open(outboxFile, { maxReports: 1000 });
      firstSeq.set(name, outbox.stats().lastSeq + 1);
      outbox.close();
      outboxes.set(name, outboxFile);
      const config = await writeAgentConfig(dir, {
        cluster: { name, labels: { region: name } },
        sources: [{ name: 'fleet', url: git.url('fleet'), ref: 'main', interval: '1s', timeout: '5s' }],
        kube: { kubeconfig: labCluster(name).kubeconfigPath, namespace: PARENT_NS },
        stateDir: path.join(dir, 'state'),
        listen: '127.0.0.1:0',
        // Every report in full, so the history must hold each seq the agent made (heartbeats across
        // replicas are in the store suite: one heartbeat, two connections, recorded once).
        hub: { url: balancer.url, tokenFile: path.join(dir, 'token'), timeout: '2s', fullReportEvery: 0 },
        outbox: { minBackoff: '100ms', maxBackoff: '500ms' },
        log: { level: 'info' },
      });
      agents.push(spawnAgent(config));
    }

    // Both replicas take reports before one dies.
    await waitFor(
      'every agent to have reports stored and both replicas to have served them',
      async () =>
        balancer.connections.every((n) => n > 0) &&
        (await Promise.all(LAB_CLUSTER_NAMES.map(history))).every((h) => h.length >= 3),
      120_000,
    );
    const beforeKill = await Promise.all(LAB_CLUSTER_NAMES.map(history));
    replicas[0]!.proc.kill('SIGKILL');
    await replicas[0]!.exited;
    await waitFor(
      'every agent to report at least 5 more times through the surviving replica',
      async () =>
        (await Promise.all(LAB_CLUSTER_NAMES.map(history))).every(
          (h, i) => h.length >= beforeKill[i]!.length + 5,
        ),
      120_000,
    );

    // SIGTERM: each agent finishes its step and flushes its outbox, then we compare.
    for (const agent of agents.splice(0)) expect(await agent.kill('SIGTERM')).toBe(0);
    for (const name of LAB_CLUSTER_NAMES) {
      const outbox = Outbox.open(outboxes.get(name)!, { maxReports: 1000 });
      const stats = outbox.stats();
      outbox.close();
      expect(stats, `${name}'s outbox`).toMatchObject({ pending: 0, rejected: 0, folded: 0 });
      const made = Array.from(
        { length: stats.lastSeq - firstSeq.get(name)! + 1 },
        (_, i) => firstSeq.get(name)! + i,
      );
      expect(made.length).toBeGreaterThanOrEqual(8);
      // Every seq the agent made is stored once (history is unique by seq), and nothing else.
      expect(await history(name), `${name}'s history`).toEqual(made);
      const state = (await (await fetch(`${balancer.url}/api/v1/clusters/${name}`)).json()) as {
        cluster: { seq: number };
      };
      expect(state.cluster.seq).toBe(stats.lastSeq);
    }
  });
});
