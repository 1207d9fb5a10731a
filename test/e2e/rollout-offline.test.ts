// A canary that has never reported holds the rollout. Two lab clusters in two waves: edge is the
// canary and hz is the rest. The fleet inventory (clusters.yaml) lists both. Both agents are the real
// bundled `strata agent`, and the hub is the real bundled `strata hub serve`.
// The canary's link to the hub goes through a relay that this test holds closed, so the hub never
// hears of it. Because the canary is "offline", it applies each commit without the hub, as wave 0 does.
// hz must not apply the commit until the canary's reports arrive and soak, or until a release
// manager waives the canary wave through `strata rollout waive`.
// Every claim is checked on the live objects.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateToken } from '../../hub/src/api/auth.js';
import { openStore } from '../../hub/src/store/open.js';
import { commitFiles, createRepo, type GitServer, startGitServer, type TestRepo } from '../git/index.js';
import { type AgentProcess, spawnAgent, waitFor, writeAgentConfig } from './agent-harness.js';
import { BUNDLE } from './support/bundle.js';
import { labCluster } from './support/lab.js';

const NS = 'rollout-offline-e2e';
const ADMIN = 'rollout-offline-admin-token';

const files = (value: string) => ({
  'strata.yaml': `apiVersion: strata.dev/v1
kind: Fleet
layers: [{ path: global }]
rollout:
  soak: 3s
  progressDeadline: 120s
  waves:
    - name: canary
      selector: tier=canary
    - name: rest
`,
  'clusters.yaml':
    'clusters:\n  - { name: edge, labels: { tier: canary } }\n  - { name: hz, labels: { env: prod } }\n',
  'global/ns.yaml': `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${NS} }\n`,
  'global/value.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: wave-value, namespace: ${NS} }\ndata: { value: "${value}" }\n`,
});

/** A TCP relay to the hub that the test opens and closes: closed, it drops every connection. */
class HubLink {
  open = false;
  private readonly sockets = new Set<net.Socket>();
  readonly server: net.Server;
  constructor(private readonly target: () => number) {
    this.server = net.createServer((client) => {
      if (!this.open) {
        client.destroy();
        return;
      }
      const upstream = net.connect(this.target(), '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
  }
  listen(): Promise<number> {
    return new Promise((resolve) =>
      this.server.listen(0, '127.0.0.1', () => resolve((this.server.address() as net.AddressInfo).port)),
    );
  }
  close(): void {
    this.open = false;
    for (const s of this.sockets) s.destroy();
  }
}

let tmp: string;
let git: GitServer;
let repo: TestRepo;
let hub: ChildProcess | undefined;
let hubPort: number;
let adminFile: string;
let link: HubLink;
const agents = new Map<string, AgentProcess>();

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BUNDLE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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

async function valueOn(name: string): Promise<string | undefined> {
  const kc = new KubeConfig();
  kc.loadFromFile(labCluster(name).kubeconfigPath);
  try {
    const cm = await kc
      .makeApiClient(CoreV1Api)
      .readNamespacedConfigMap({ name: 'wave-value', namespace: NS });
    return cm.data?.value;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

type Source = { commit: string | null; rollout?: { waiting: string | null } | null };
const sync = async (name: string) =>
  ((await agents.get(name)!.sync()) as unknown as { sources: Source[] }).sources[0]!;

async function gateOf(commit: string) {
  const res = await fetch(`http://127.0.0.1:${hubPort}/api/v1/rollouts/${commit}`);
  return res.ok ? ((await res.json()) as { gate: { state: string; reason: string } }) : undefined;
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'strata-rollout-offline-'));
  repo = await createRepo(path.join(tmp, 'repos'), 'fleet');
  git = await startGitServer({ root: path.join(tmp, 'repos') });
  hubPort = await freePort();
  const db = path.join(tmp, 'hub.db');
  adminFile = path.join(tmp, 'admin-token');
  await writeFile(adminFile, ADMIN);
  const store = await openStore(db, { retention: { keepReports: 100, maxAgeMs: 86_400_000 } });
  const tokens = new Map<string, string>();
  for (const name of ['edge', 'hz']) {
    const t = generateToken(name, new Date());
    await store.createToken(t.record);
    tokens.set(name, t.token);
  }
  await store.close();
  hub = spawn(
    process.execPath,
    [
      BUNDLE,
      'hub',
      'serve',
      '--db',
      db,
      '--listen',
      `127.0.0.1:${hubPort}`,
      '--public-read',
      '--admin-token-file',
      adminFile,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  await waitFor(
    'the hub to answer',
    async () => (await fetch(`http://127.0.0.1:${hubPort}/healthz`)).ok,
    60_000,
  );
  link = new HubLink(() => hubPort);
  const linkPort = await link.listen();
  for (const [name, labels] of [
    ['edge', { tier: 'canary' }],
    ['hz', { env: 'prod' }],
  ] as const) {
    const dir = path.join(tmp, 'agents', name);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'token'), tokens.get(name)!);
    const config = await writeAgentConfig(dir, {
      cluster: { name, labels },
      sources: [{ name: 'fleet', url: git.url('fleet'), ref: 'main', interval: '1h', timeout: '5s' }],
      hub: {
        url: `http://127.0.0.1:${name === 'edge' ? linkPort : hubPort}`,
        tokenFile: path.join(dir, 'token'),
        timeout: '2s',
      },
      kube: { kubeconfig: labCluster(name).kubeconfigPath, namespace: 'strata-rollout-offline-e2e' },
      stateDir: path.join(dir, 'state'),
      listen: '127.0.0.1:0',
      outbox: { minBackoff: '200ms', maxBackoff: '1s' },
      log: { level: 'info' },
    });
    agents.set(name, spawnAgent(config));
  }
  await Promise.all([...agents.values()].map((a) => a.port));
}, 300_000);

afterAll(async () => {
  await Promise.all([...agents.values()].map((a) => a.kill('SIGKILL')));
  link?.close();
  link?.server.close();
  if (hub && hub.exitCode === null) {
    const exited = new Promise((r) => hub!.once('exit', r));
    hub.kill('SIGTERM');
    await exited;
  }
  await git?.close();
  for (const name of ['edge', 'hz']) {
    const kc = new KubeConfig();
    kc.loadFromFile(labCluster(name).kubeconfigPath);
    await kc
      .makeApiClient(CoreV1Api)
      .deleteNamespace({ name: NS })
      .catch(() => {});
  }
  await rm(tmp, { recursive: true, force: true });
}, 120_000);

describe('staged rollout with a canary the hub has never heard from', () => {
  it('holds the later wave until the canary reports and soaks, or its wave is waived', {
    timeout: 300_000,
  }, async () => {
    const c1 = await commitFiles(repo, files('v1'));
    // The canary applies without the hub: wave 0 never waits for a link it does not have.
    const edge = await waitFor('the canary to apply v1 offline', async () => {
      const s = await sync('edge');
      return s.commit === c1 && (await valueOn('edge')) === 'v1' ? s : undefined;
    });
    expect(edge.rollout?.waiting ?? null).toBeNull();
    // hz asks: the hub knows the canary only from clusters.yaml, and nothing of it has arrived.
    for (let round = 0; round < 3; round++) {
      const hz = await sync('hz');
      expect(hz.commit).toBe(c1);
      expect(hz.rollout?.waiting).toMatch(
        /^waiting for wave 1 \(rest\) gate: wave 0 \(canary\) has not passed: 0 of 1 cluster reported on this commit: edge /,
      );
      await new Promise((r) => setTimeout(r, 4000)); // past the soak: time alone releases nothing
    }
    expect(await valueOn('hz')).toBeUndefined();
    expect((await gateOf(c1))?.gate.reason).toMatch(
      /^wave 0 \(canary\): 0 of 1 cluster reported on this commit/,
    );

    // The link returns: the canary's reports arrive, it soaks, and only then is hz released.
    link.open = true;
    await waitFor(
      'hz to apply v1 once the canary soaked',
      async () => {
        await sync('edge');
        await sync('hz');
        return (await valueOn('hz')) === 'v1';
      },
      120_000,
    );

    // The canary goes offline again before v2. The hub knows it now, so it still holds hz, until the
    // wave is waived through the CLI.
    link.close();
    const c2 = await commitFiles(repo, files('v2'));
    await waitFor(
      'the canary to apply v2 offline',
      async () => (await sync('edge')).commit === c2 && (await valueOn('edge')) === 'v2',
    );
    const held = await waitFor('hz to see v2', async () => {
      const s = await sync('hz');
      return s.commit === c2 ? s : undefined;
    });
    expect(held.rollout?.waiting).toMatch(/0 of 1 cluster reported on this commit: edge /);
    await new Promise((r) => setTimeout(r, 4000));
    await sync('hz');
    expect(await valueOn('hz')).toBe('v1');
    const waived = await cli([
      'rollout',
      'waive',
      c2.slice(0, 10),
      '--wave',
      'canary',
      '--hub',
      `http://127.0.0.1:${hubPort}`,
      '--token-file',
      adminFile,
      '--by',
      'e2e',
    ]);
    expect(waived.stderr).toBe('');
    expect(waived.code).toBe(0);
    expect(waived.stdout).toMatch(/^waive: .* is now progressing/);
    await waitFor(
      'hz to apply v2 after the waiver',
      async () => {
        await sync('hz');
        return (await valueOn('hz')) === 'v2';
      },
      60_000,
    );
  });
});
