// Staged rollouts on five real lab clusters in three waves: canary (edge), prod (hz, sh; one at a
// time) and rest (r4, r5; manual approval). The hub is the real `strata hub serve` (restarted
// mid-rollout), the agents the real `strata agent`, and r5's agent runs in its own network
// namespace whose hub link this test cuts: Git and its apiserver stay reachable over another link,
// so it sees the new commit but cannot learn that it is released. Every claim is checked on the
// live objects of the clusters. The three clusters of the e2e lab plus two started here (and
// stopped at the end). Pause, resume, approve and abort go through the `strata rollout` CLI.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateToken } from '../../hub/src/api/auth.js';
import { openStore } from '../../hub/src/store/open.js';
import { type LabCluster, labDown, labUp } from '../cluster/lab-api.js';
import { commitFiles, createRepo, type GitServer, startGitServer, type TestRepo } from '../git/index.js';
import { type AgentProcess, spawnAgent, waitFor, writeAgentConfig } from './agent-harness.js';
import { BUNDLE } from './support/bundle.js';
import { labCluster } from './support/lab.js';

const CLI = path.resolve('agent/src/cli.ts');
const NS = 'rollout-e2e';
const NETNS = 'strata-e2e-rollout';
const WAN = { host: 'strro-wan0', peer: 'strro-wan1', hostIp: '169.254.241.1', peerIp: '169.254.241.2' };
const LAN = { host: 'strro-lan0', peer: 'strro-lan1', hostIp: '169.254.242.1', peerIp: '169.254.242.2' };
const SOAK_MS = 6000;
const ADMIN = 'rollout-e2e-admin-token';

interface Member {
  name: string;
  labels: Record<string, string>;
  kubeconfigPath: string;
  server: string;
  isolated?: boolean;
}

const RULES = `rollout:
  soak: 6s
  progressDeadline: 120s
  waves:
    - name: canary
      selector: tier=canary
    - name: prod
      selector: env=prod
      maxConcurrent: 1
    - name: rest
      approval: manual
`;

const CANARY_CHECK = `apiVersion: apps/v1
kind: Deployment
metadata: { name: canary-check, namespace: ${NS} }
spec:
  replicas: 1
  progressDeadlineSeconds: 3
  selector: { matchLabels: { app: canary-check } }
  template:
    metadata: { labels: { app: canary-check } }
    spec:
      nodeSelector: { strata.dev/no-such-node: "true" }
      containers: [{ name: check, image: "example.invalid/check:1" }]
`;

const fleetFiles = (value: string, broken = false) => ({
  'global/canary-check.yaml': broken ? CANARY_CHECK : null,
  'strata.yaml': `apiVersion: strata.dev/v1\nkind: Fleet\nlayers: [{ path: global }]\n${RULES}`,
  'global/ns.yaml': `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${NS} }\n`,
  'global/value.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: wave-value, namespace: ${NS} }\ndata: { value: "${value}" }\n`,
  'global/web.yaml': `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: ${NS} }
spec:
  replicas: 1
  progressDeadlineSeconds: 600
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers: [{ name: web, image: "example.invalid/web:${value}" }]
`,
});

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

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

function relay(listenHost: string, targetPort: number): Promise<net.Server> {
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, listenHost, () => resolve(server));
  });
}

/** Inside the namespace, 127.0.0.1:<port> of each entry leads to the host relay at host:relayPort. */
function startNsRelay(routes: { port: number; host: string; relayPort: number }[]): Promise<ChildProcess> {
  const script = `const net=require('node:net');const routes=${JSON.stringify(routes)};let n=0;for(const r of routes){const s=net.createServer(c=>{const u=net.connect(r.relayPort,r.host);c.pipe(u).pipe(c);c.on('error',()=>u.destroy());u.on('error',()=>c.destroy());});s.listen(r.port,'127.0.0.1',()=>{if(++n===routes.length)console.log('ready')});}`;
  const child = spawn('ip', ['netns', 'exec', NETNS, process.execPath, '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout?.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`namespace relay exited ${code}`)));
  });
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // The bundled CLI, as shipped (global setup builds it); it also starts faster on a loaded machine.
    const child = spawn(process.execPath, [BUNDLE, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

let tmp: string;
let extraLab: string;
let extra: LabCluster[] = [];
let git: GitServer;
let repo: TestRepo;
let hubProc: ChildProcess | undefined;
let hubPort: number;
let hubDb: string;
let adminFile: string;
const relays: net.Server[] = [];
let nsRelay: ChildProcess | undefined;
const agents = new Map<string, AgentProcess>();
const members: Member[] = [];
const timeline: string[] = [];
/** Agents this test syncs itself for now (the driver leaves them alone). */
const manual = new Set<string>();
let driver: NodeJS.Timeout | undefined;

const hubUrl = () => `http://127.0.0.1:${hubPort}`;

async function startHubProcess(): Promise<void> {
  const proc = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      CLI,
      'hub',
      'serve',
      '--db',
      hubDb,
      '--listen',
      `127.0.0.1:${hubPort}`,
      '--public-read',
      '--admin-token-file',
      adminFile,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  hubProc = proc;
  await waitFor('the hub to answer', async () => (await fetch(`${hubUrl()}/healthz`)).ok, 60_000);
}

async function stopHubProcess(signal: NodeJS.Signals): Promise<void> {
  const proc = hubProc;
  hubProc = undefined;
  if (!proc || proc.exitCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill(signal);
  await exited;
}

interface GateView {
  gate: {
    state: string;
    reason: string;
    waves: { name: string; state: string; clusters: { name: string; state: string; released: boolean }[] }[];
  };
  events: { at: string; kind: string; detail: string }[];
}

async function rolloutOf(commit: string): Promise<GateView | undefined> {
  const res = await fetch(`${hubUrl()}/api/v1/rollouts/${commit}`);
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`rollout ${commit}: ${res.status} ${await res.text()}`);
  return (await res.json()) as GateView;
}

function clients(m: Member) {
  const kc = new KubeConfig();
  kc.loadFromFile(m.kubeconfigPath);
  return { core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api) };
}

/** The live ConfigMap value, and whether the broken commit's Deployment exists. */
async function live(m: Member): Promise<{ value: string | undefined; broken: boolean }> {
  const { core, apps } = clients(m);
  let value: string | undefined;
  let broken = false;
  try {
    value = (await core.readNamespacedConfigMap({ name: 'wave-value', namespace: NS })).data?.value;
  } catch (err) {
    if ((err as { code?: number }).code !== 404) throw err;
  }
  try {
    await apps.readNamespacedDeployment({ name: 'canary-check', namespace: NS });
    broken = true;
  } catch (err) {
    if ((err as { code?: number }).code !== 404) throw err;
  }
  return { value, broken };
}

const member = (name: string) => members.find((m) => m.name === name)!;

/** Waits until every named cluster holds `value`, logging when each did. */
async function waitForValue(names: string[], value: string, timeoutMs = 120_000): Promise<void> {
  for (const name of names) {
    await waitFor(
      `${name} to apply ${value}`,
      async () => (await live(member(name))).value === value,
      timeoutMs,
    );
    timeline.push(`${new Date().toISOString()} ${name} runs ${value}`);
  }
}

/** Two rounds of the driver: every agent reconciled at least once more. */
async function syncAll(): Promise<void> {
  await new Promise((r) => setTimeout(r, 6000));
}

type SyncSource = {
  commit: string | null;
  applied: string | null;
  rollout: { waiting: string | null } | null;
};

/** What the agent reports about its source: asked directly when the test drives it, else from the hub. */
async function statusOf(name: string): Promise<SyncSource> {
  if (manual.has(name)) {
    const body = (await agents.get(name)!.sync()) as unknown as { sources: SyncSource[] };
    return body.sources[0]!;
  }
  await syncAll();
  const res = await fetch(`${hubUrl()}/api/v1/clusters/${name}`);
  const detail = (await res.json()) as {
    report: {
      sources: {
        commit: string | null;
        sync: { commit: string } | null;
        rollout?: { waiting: string | null };
      }[];
    };
  };
  const s = detail.report.sources[0]!;
  return { commit: s.commit, applied: s.sync?.commit ?? null, rollout: s.rollout ?? null };
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'strata-rollout-e2e-'));
  extraLab = path.join(tmp, 'lab');
  extra = await labUp({ names: ['r4', 'r5'], dir: extraLab, log: pino({ level: 'warn' }) });
  for (const name of ['edge', 'hz', 'sh'] as const) {
    const c = labCluster(name);
    const labels: Record<string, string> =
      name === 'edge' ? { tier: 'canary', env: 'prod' } : { env: 'prod' };
    members.push({ name, labels, kubeconfigPath: c.kubeconfigPath, server: c.server });
  }
  for (const c of extra)
    members.push({
      name: c.name,
      labels: { env: 'dev' },
      kubeconfigPath: c.kubeconfigPath,
      server: c.server,
      isolated: c.name === 'r5',
    });

  repo = await createRepo(path.join(tmp, 'repos'), 'fleet');
  git = await startGitServer({ root: path.join(tmp, 'repos') });
  hubPort = await freePort();
  hubDb = path.join(tmp, 'hub.db');
  adminFile = path.join(tmp, 'admin-token');
  await writeFile(adminFile, ADMIN);
  const store = await openStore(hubDb, { retention: { keepReports: 200, maxAgeMs: 86_400_000 } });
  const tokens = new Map<string, string>();
  for (const m of members) {
    const t = generateToken(m.name, new Date());
    await store.createToken(t.record);
    tokens.set(m.name, t.token);
  }
  await store.close();
  await startHubProcess();

  createNetns();
  const r5 = member('r5');
  const apiPort = Number(new URL(r5.server).port);
  const toApi = await relay(LAN.hostIp, apiPort);
  const toGit = await relay(LAN.hostIp, git.port);
  const toHub = await relay(WAN.hostIp, hubPort);
  relays.push(toApi, toGit, toHub);
  const portOf = (s: net.Server) => (s.address() as net.AddressInfo).port;
  nsRelay = await startNsRelay([
    { port: apiPort, host: LAN.hostIp, relayPort: portOf(toApi) },
    { port: git.port, host: LAN.hostIp, relayPort: portOf(toGit) },
    { port: hubPort, host: WAN.hostIp, relayPort: portOf(toHub) },
  ]);

  for (const m of members) {
    const dir = path.join(tmp, 'agents', m.name);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'token'), tokens.get(m.name)!);
    const config = await writeAgentConfig(dir, {
      cluster: { name: m.name, labels: m.labels },
      sources: [{ name: 'fleet', url: git.url('fleet'), ref: 'main', interval: '1h', timeout: '3s' }],
      hub: { url: hubUrl(), tokenFile: path.join(dir, 'token'), timeout: '2s' },
      kube: { kubeconfig: m.kubeconfigPath, namespace: 'strata-rollout-e2e' },
      stateDir: path.join(dir, 'state'),
      listen: m.isolated ? '0.0.0.0:0' : '127.0.0.1:0',
      outbox: { minBackoff: '200ms', maxBackoff: '1s' },
      log: { level: 'info' },
    });
    agents.set(
      m.name,
      m.isolated
        ? spawnAgent(config, { prefix: ['ip', 'netns', 'exec', NETNS], host: LAN.peerIp })
        : spawnAgent(config),
    );
  }
  await Promise.all([...agents.values()].map((a) => a.port));
  // Reconciles on a timer of this test's (not the agents' own interval): a reconcile that takes
  // longer than the interval on a busy machine would otherwise chain into the next one, and a
  // waiting POST /sync would never return.
  driver = setInterval(() => {
    for (const [name, agent] of agents) {
      if (manual.has(name)) continue;
      void agent.port.then((port) => {
        const host = member(name).isolated ? LAN.peerIp : '127.0.0.1';
        return fetch(`http://${host}:${port}/sync?wait=false`, {
          method: 'POST',
          headers: agent.syncHeaders,
        }).catch(() => undefined);
      });
    }
  }, 2500);
}, 600_000);

afterAll(async () => {
  clearInterval(driver);
  await Promise.all([...agents.values()].map((a) => a.kill('SIGKILL')));
  nsRelay?.kill('SIGKILL');
  for (const r of relays) r.close();
  await stopHubProcess('SIGTERM');
  await git?.close();
  removeNetns();
  for (const m of members.filter((x) => !extra.some((e) => e.name === x.name))) {
    const { core } = clients(m);
    for (const name of [NS, 'strata-rollout-e2e']) await core.deleteNamespace({ name }).catch(() => {});
  }
  if (extraLab) await labDown(extraLab);
  await rm(tmp, { recursive: true, force: true });
  if (timeline.length > 0) process.stderr.write(`rollout timeline:\n${timeline.join('\n')}\n`);
}, 300_000);

describe('staged rollout across five lab clusters in three waves', () => {
  let c1: string;

  it('walks a good commit through the waves with the soak respected, across a hub restart and a cut-off agent', {
    timeout: 600_000,
  }, async () => {
    c1 = await commitFiles(repo, fleetFiles('v1'));
    timeline.push(`${new Date().toISOString()} pushed v1 ${c1.slice(0, 12)}`);
    await waitForValue(['edge'], 'v1');
    // Fresh clusters of later waves have nothing released yet, so they apply nothing.
    expect((await live(member('hz'))).value).toBeUndefined();
    expect((await statusOf('hz')).rollout?.waiting).toMatch(/^waiting for wave 1 \(prod\) gate: .*edge/);

    // The hub dies mid-rollout (SIGKILL) and comes back on the same database.
    await stopHubProcess('SIGKILL');
    await syncAll();
    expect((await live(member('hz'))).value).toBeUndefined();
    await startHubProcess();
    timeline.push(`${new Date().toISOString()} hub restarted`);

    await waitForValue(['hz', 'sh'], 'v1');
    const view = (await rolloutOf(c1))!;
    const at = (kind: string, detail: string) => {
      const e = view.events.find((x) => x.kind === kind && x.detail === detail);
      expect(e, `${kind} ${detail} in ${JSON.stringify(view.events)}`).toBeDefined();
      return Date.parse(e!.at);
    };
    expect(at('released', 'hz') - at('healthy', 'edge')).toBeGreaterThanOrEqual(SOAK_MS);
    // maxConcurrent 1: sh starts only once hz is healthy.
    expect(at('released', 'sh')).toBeGreaterThanOrEqual(at('healthy', 'hz'));
    expect(view.events[0]).toMatchObject({ kind: 'started' });

    // The rest waits for approval; r5 loses its hub link before the approval.
    await waitFor('the rest wave to wait for approval', async () => {
      const v = await rolloutOf(c1);
      return v?.gate.waves[2]?.state === 'awaiting-approval';
    });
    expect((await statusOf('r4')).rollout?.waiting).toMatch(/waits for approval/);
    manual.add('r5');
    ip('link', 'set', WAN.host, 'down');
    try {
      const approved = await run([
        'rollout',
        'approve',
        c1.slice(0, 10),
        '--wave',
        'rest',
        '--hub',
        hubUrl(),
        '--token-file',
        adminFile,
        '--by',
        'e2e',
      ]);
      expect(approved.stderr).toBe('');
      expect(approved.code).toBe(0);
      timeline.push(`${new Date().toISOString()} approved wave rest`);
      await waitForValue(['r4'], 'v1');
      for (let i = 0; i < 3; i++) {
        const s = await statusOf('r5');
        expect(s.commit).toBe(c1);
        expect(s.rollout?.waiting).toMatch(/^waiting for wave 2 \(rest\) gate: hub unreachable/);
      }
      expect((await live(member('r5'))).value).toBeUndefined();
    } finally {
      ip('link', 'set', WAN.host, 'up');
      manual.delete('r5');
    }
    await waitForValue(['r5'], 'v1');
    await waitFor(
      'the rollout to complete',
      async () => (await rolloutOf(c1))?.gate.state === 'complete',
      60_000,
    );
  });

  it('halts a commit that makes the canary Degraded: no later wave ever applies it', {
    timeout: 300_000,
  }, async () => {
    const c2 = await commitFiles(repo, fleetFiles('v2', true));
    timeline.push(`${new Date().toISOString()} pushed broken v2 ${c2.slice(0, 12)}`);
    await waitForValue(['edge'], 'v2');
    await waitFor('the rollout to halt', async () => (await rolloutOf(c2))?.gate.state === 'halted', 120_000);
    timeline.push(`${new Date().toISOString()} v2 halted`);
    const status = await run(['rollout', 'status', c2, '--hub', hubUrl()]);
    expect(status.stdout).toMatch(/halted .*failure budget spent: 1 of 1 failed \(edge\)/);
    // Well past the soak, every later cluster still runs v1, without the broken Deployment.
    for (let round = 0; round < 4; round++) {
      await syncAll();
      for (const name of ['hz', 'sh', 'r4', 'r5'])
        expect(await live(member(name)), name).toEqual({ value: 'v1', broken: false });
    }
    const hz = await statusOf('hz');
    expect(hz).toMatchObject({ commit: c2, applied: c1 });
    expect(hz.rollout?.waiting).toMatch(/rollout halted/);
  });

  it('pause holds everyone who has not applied, canary included; resume walks on; abort halts for good', {
    timeout: 420_000,
  }, async () => {
    const control = async (verb: string, commit: string, ...extra: string[]) => {
      const out = await run([
        'rollout',
        verb,
        commit.slice(0, 10),
        '--hub',
        hubUrl(),
        '--token-file',
        adminFile,
        '--by',
        'e2e',
        ...extra,
      ]);
      expect(out.stderr).toBe('');
      expect(out.code).toBe(0);
      timeline.push(`${new Date().toISOString()} ${verb} ${out.stdout.trim()}`);
      return out.stdout;
    };
    const values = async () =>
      Object.fromEntries(await Promise.all(members.map(async (m) => [m.name, (await live(m)).value])));
    // The canary does not reconcile until the rollout is paused, so nothing can soak before the pause.
    manual.add('edge');
    const c3 = await commitFiles(repo, fleetFiles('v3'));
    timeline.push(`${new Date().toISOString()} pushed v3 ${c3.slice(0, 12)}`);
    await waitFor('a later wave to announce v3', async () => (await rolloutOf(c3)) !== undefined, 60_000);
    expect(await control('pause', c3)).toMatch(/is now paused/);
    // The canary fetches v3 (a fetch can time out on a busy machine: ask again) and holds it.
    const held = await waitFor(
      'the canary to fetch v3 and hold it',
      async () => {
        const body = (await agents.get('edge')!.sync()) as unknown as { sources: SyncSource[] };
        const s = body.sources[0]!;
        return s.commit === c3 && s.rollout?.waiting ? s : undefined;
      },
      90_000,
    );
    expect(held.rollout?.waiting).toMatch(/^waiting for wave 0 \(canary\) gate: rollout paused/);
    const metrics = await (await fetch(`http://127.0.0.1:${await agents.get('edge')!.port}/metrics`)).text();
    expect(metrics).toContain('strata_rollout_waiting{source="fleet"} 1');
    expect(metrics).toContain('strata_rollout_wave{source="fleet"} 0');
    manual.delete('edge');
    // Paused: two rounds of every agent, nobody runs v3 (the canary keeps the halted v2).
    const before = { edge: 'v2', hz: 'v1', sh: 'v1', r4: 'v1', r5: 'v1' };
    for (let round = 0; round < 2; round++) {
      await syncAll();
      expect(await values()).toEqual(before);
    }
    expect((await rolloutOf(c3))!.gate.state).toBe('paused');
    expect((await rolloutOf(c3))!.events.filter((e) => e.kind === 'released')).toEqual([]);

    expect(await control('resume', c3)).toMatch(/is now progressing/);
    await waitForValue(['edge', 'hz', 'sh'], 'v3', 180_000);
    await waitFor('the rest wave to wait for approval', async () => {
      const v = await rolloutOf(c3);
      return v?.gate.waves[2]?.state === 'awaiting-approval';
    });
    // Aborted, then the last wave approved: still nobody advances further.
    expect(await control('abort', c3)).toMatch(/is now aborted/);
    await control('approve', c3, '--wave', 'rest');
    for (let round = 0; round < 2; round++) {
      await syncAll();
      expect(await values()).toEqual({ edge: 'v3', hz: 'v3', sh: 'v3', r4: 'v1', r5: 'v1' });
    }
    const view = (await rolloutOf(c3))!;
    expect(view.gate.state).toBe('aborted');
    expect(
      view.events
        .filter((e) => e.kind === 'released')
        .map((e) => e.detail)
        .sort(),
    ).toEqual(['hz', 'sh']);
    const r4 = await statusOf('r4');
    expect(r4).toMatchObject({ commit: c3, applied: c1 });
    expect(r4.rollout?.waiting).toMatch(/rollout aborted/);
  });
});
