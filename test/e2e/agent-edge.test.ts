// The agent at the edge: it runs in its own network namespace, reaching Git and the report
// receiver over one veth link ("WAN") and the lab apiserver over another ("LAN", through two small
// TCP relays). Taking the WAN link down is a real cut: packets are dropped, nothing answers.
// Addresses are link-local ones that this test creates inside the sandbox, on its own namespace.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitFiles, createRepo, type GitServer, startGitServer, type TestRepo } from '../git/index.js';
import {
  type AgentProcess,
  type Receiver,
  spawnAgent,
  startReceiver,
  waitFor,
  writeAgentConfig,
} from './agent-harness.js';
import { labCluster } from './support/lab.js';

const NETNS = 'strata-e2e-edge';
const WAN = { host: 'stredge-wan0', peer: 'stredge-wan1', hostIp: '169.254.231.1', peerIp: '169.254.231.2' };
const LAN = { host: 'stredge-lan0', peer: 'stredge-lan1', hostIp: '169.254.232.1', peerIp: '169.254.232.2' };
const NS = 'agent-edge';
const PARENT_NS = 'strata-agent-edge';
const cluster = labCluster('edge');
const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
const apiPort = Number(new URL(cluster.server).port);

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

let tmp: string;
let git: GitServer;
let repo: TestRepo;
let receiver: Receiver;
let hostRelay: net.Server;
let nsRelay: ChildProcess;

function removeNetns(): void {
  try {
    ip('netns', 'del', NETNS);
  } catch {
    // not there
  }
  for (const link of [WAN.host, LAN.host]) {
    try {
      ip('link', 'del', link);
    } catch {
      // gone with the namespace
    }
  }
}

function createNetns(): void {
  removeNetns();
  ip('netns', 'add', NETNS);
  ip('netns', 'exec', NETNS, 'ip', 'link', 'set', 'lo', 'up');
  for (const link of [WAN, LAN]) {
    ip('link', 'add', link.host, 'type', 'veth', 'peer', 'name', link.peer);
    ip('link', 'set', link.peer, 'netns', NETNS);
    ip('addr', 'add', `${link.hostIp}/30`, 'dev', link.host);
    ip('link', 'set', link.host, 'up');
    ip('netns', 'exec', NETNS, 'ip', 'addr', 'add', `${link.peerIp}/30`, 'dev', link.peer);
    ip('netns', 'exec', NETNS, 'ip', 'link', 'set', link.peer, 'up');
  }
}

/** A TCP relay: connections to `listen` are piped to `target`. */
function relay(
  listenHost: string,
  listenPort: number,
  targetHost: string,
  targetPort: number,
): Promise<net.Server> {
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, listenHost, () => resolve(server));
  });
}

/** The relay inside the namespace: its 127.0.0.1:<apiserver port> leads over the LAN link to the host. */
function startNsRelay(hostPort: number): Promise<ChildProcess> {
  const script = `const net=require('node:net');const s=net.createServer(c=>{const u=net.connect(${hostPort},'${LAN.hostIp}');c.pipe(u).pipe(c);c.on('error',()=>u.destroy());u.on('error',()=>c.destroy());});s.listen(${apiPort},'127.0.0.1',()=>console.log('ready'));`;
  const child = spawn('ip', ['netns', 'exec', NETNS, process.execPath, '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout?.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`namespace relay exited ${code}`)));
  });
}

async function liveValue(name: string): Promise<string | undefined> {
  try {
    return (await core.readNamespacedConfigMap({ name, namespace: NS })).data?.value;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

const files = (value: string) => ({
  'global/ns.yaml': `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${NS} }\n`,
  'global/edge.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: edge, namespace: ${NS} }\ndata: { value: "${value}" }\n`,
});

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'strata-agent-edge-'));
  createNetns();
  repo = await createRepo(path.join(tmp, 'repos'), 'fleet');
  git = await startGitServer({ root: path.join(tmp, 'repos'), host: WAN.hostIp });
  receiver = await startReceiver(WAN.hostIp);
  hostRelay = await relay(LAN.hostIp, 0, '127.0.0.1', apiPort);
  nsRelay = await startNsRelay((hostRelay.address() as net.AddressInfo).port);
});

afterAll(async () => {
  nsRelay?.kill('SIGKILL');
  hostRelay?.close();
  await git?.close();
  await receiver?.stop();
  removeNetns();
  for (const name of [NS, PARENT_NS]) await core.deleteNamespace({ name }).catch(() => {});
  await rm(tmp, { recursive: true, force: true });
});

describe('strata agent in its own network namespace', () => {
  let agent: AgentProcess;

  afterAll(async () => {
    await agent?.kill('SIGKILL');
  });

  it('keeps the last commit through a cut link, then catches up and delivers every report in order', {
    timeout: 600_000,
  }, async () => {
    const c1 = await commitFiles(repo, files('before-cut'));
    const configFile = await writeAgentConfig(tmp, {
      cluster: { name: 'edge', labels: { region: 'edge' } },
      sources: [{ name: 'fleet', url: git.url('fleet'), ref: 'main', interval: '1h', timeout: '3s' }],
      hub: { url: receiver.url, timeout: '2s' },
      kube: { kubeconfig: cluster.kubeconfigPath, namespace: PARENT_NS },
      stateDir: path.join(tmp, 'state'),
      listen: '0.0.0.0:0',
      outbox: { minBackoff: '200ms', maxBackoff: '1s' },
    });
    agent = spawnAgent(configFile, { prefix: ['ip', 'netns', 'exec', NETNS], host: LAN.peerIp });
    await agent.port;
    expect((await agent.sync()).sources[0]).toMatchObject({ commit: c1, reachable: true });
    expect(await liveValue('edge')).toBe('before-cut');
    await waitFor('the first report', async () => receiver.reports.length > 0);
    const delivered = receiver.reports.length;

    ip('link', 'set', WAN.host, 'down');
    const c2 = await commitFiles(repo, files('after-cut'));
    try {
      for (let i = 0; i < 3; i++) {
        const cut = await agent.sync();
        expect(cut.sources[0]).toMatchObject({ commit: c1, reachable: false });
      }
      expect(await liveValue('edge')).toBe('before-cut');
      expect(receiver.reports.length).toBe(delivered);
      expect(await agent.metrics()).toMatch(/strata_outbox_depth [1-9]/);
    } finally {
      ip('link', 'set', WAN.host, 'up');
    }

    await waitFor(
      'the agent to fetch again over the restored link',
      async () => (await agent.sync()).sources[0]?.commit === c2,
      60_000,
    );
    expect(await liveValue('edge')).toBe('after-cut');
    await waitFor(
      'the outbox to drain',
      async () => /strata_outbox_depth 0\b/.test(await agent.metrics()),
      60_000,
    );
    const seqs = receiver.reports.map((r) => r.seq);
    const firstSeq = seqs[0] as number;
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => firstSeq + i));
    const unavailable = receiver.reports.filter((r) => r.sources[0]?.error?.reason === 'SourceUnavailable');
    expect(unavailable.length).toBeGreaterThanOrEqual(3);
    expect(unavailable.every((r) => r.sources[0]?.commit === c1)).toBe(true);
  });
});
