// The README's first command, run as a user runs it: `npm run demo` (with test flags) as a child
// process in its own process group. It must bring three real lab clusters to Synced on the hub,
// show them on the dashboard, act on the commands it prints (push, PR preview, Git outage), and
// leave no process behind after Ctrl-C (SIGINT to the whole group, as a terminal sends it).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppsV1Api, KubeConfig } from '@kubernetes/client-node';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoState } from '../../examples/demo/control.js';
import { type ClusterLine, fetchFleet } from '../../examples/demo/fleet-watch.js';
import { demoGuide, type GuideStep, PR_REF } from '../../examples/demo/guide.js';
import { helmBinary } from '../unit/charts/helm.js';
import { readme, shellCommands, yamlBlockAfter } from '../unit/readme/markdown.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const NAMES = ['prod-hz', 'prod-sh', 'edge-1'];

interface RunningDemo {
  dir: string;
  npm: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** `npm run demo -- FLAGS` in a new process group (so SIGINT can reach npm, tsx and the demo at once). */
function startDemo(dir: string, flags: string[]): RunningDemo {
  const npm = spawn('npm', ['run', 'demo', '--', '--dir', dir, '--port', '0', '--git-port', '0', ...flags], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  npm.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  npm.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
  return { dir, npm, output: () => output, exited };
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}`);
    await sleep(1000);
  }
}

function readState(dir: string): DemoState | undefined {
  const file = path.join(dir, 'demo.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as DemoState) : undefined;
}

/** pids recorded in the lab's state files (etcd, apiserver, controllers, scheduler, KWOK per cluster). */
function labPids(dir: string): number[] {
  return NAMES.flatMap((name) => {
    const file = path.join(dir, name, 'state.json');
    if (!existsSync(file)) return [];
    return Object.values((JSON.parse(readFileSync(file, 'utf8')) as { pids: Record<string, number> }).pids);
  });
}

/** Processes whose command line mentions `needle`, or that belong to process group `pgid`. */
function processesOf(needle: string, pgid: number): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const state = fields[0];
      const group = Number(fields[2]);
      if (state === 'Z') continue;
      if (cmdline.includes(needle) || group === pgid) found.push(`${entry}: ${cmdline}`);
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function shell(
  command: string,
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-c', command],
      { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Runs a printed step's commands in order, as a user pastes them; returns the last one's output. */
async function runStep(step: GuideStep, printed: string): Promise<string> {
  let stdout = '';
  for (const command of step.commands) {
    expect(printed).toContain(command);
    const result = await shell(command);
    expect(result, `${command}\n${result.stderr}`).toMatchObject({ code: 0 });
    stdout = result.stdout;
  }
  return stdout;
}

function cluster(fleet: ClusterLine[], name: string): ClusterLine | undefined {
  return fleet.find((c) => c.name === name);
}

async function deployment(dir: string, name: string, deploymentName: string) {
  const kc = new KubeConfig();
  kc.loadFromFile(path.join(dir, name, 'kubeconfig'));
  return kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: deploymentName, namespace: 'shop' });
}

async function replicas(dir: string, name: string, deploymentName = 'web'): Promise<number | undefined> {
  return (await deployment(dir, name, deploymentName)).spec?.replicas;
}

describe('npm run demo (the README first command)', { timeout: 20 * 60_000 }, () => {
  const dir = path.join(ROOT, '.lab', `demo-e2e-${process.pid}`);
  let demo: RunningDemo;
  let state: DemoState;
  let guide: GuideStep[];
  let synced: ClusterLine[];
  let firstCommit: string;

  beforeAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    demo = startDemo(dir, ['--interval', '3s']);
    state = await until('demo.json with the hub URL', 10 * 60_000, async () => {
      const code = await Promise.race([demo.exited, sleep(1).then(() => 'running' as const)]);
      if (code !== 'running') throw new Error(`demo exited (${code}) early:\n${demo.output()}`);
      return readState(dir);
    });
    guide = demoGuide({ hubUrl: state.hubUrl, gitUrl: state.gitUrl, dir });
    expect(guide).toHaveLength(6);
  }, 15 * 60_000);

  afterAll(async () => {
    // Only when a test failed before Ctrl-C: stop what is left (Ctrl-C first, so the demo's own
    // clean-up runs; then any leftover by pid), and only then remove dir.
    const pgid = demo?.npm.pid;
    if (pgid && processesOf(dir, pgid).length > 0) {
      try {
        process.kill(-pgid, 'SIGINT');
      } catch {
        // the group is gone; leftovers are killed below
      }
      await until('the demo to clean up', 120_000, async () =>
        processesOf(dir, pgid).length === 0 ? true : undefined,
      ).catch(() => {});
      for (const leftover of processesOf(dir, pgid)) process.kill(Number(leftover.split(':')[0]), 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  it('brings prod-hz, prod-sh and edge-1 to Synced on one commit, as the hub API reports', async () => {
    synced = await until('three Synced clusters at the hub', 10 * 60_000, async () => {
      const fleet = await fetchFleet(state.hubUrl);
      const ready = NAMES.every((n) => cluster(fleet, n)?.phase === 'Synced');
      return ready ? fleet : undefined;
    });
    const commits = new Set(NAMES.map((n) => cluster(synced, n)?.commit));
    expect(commits.size).toBe(1);
    firstCommit = [...commits][0]!;
    expect(firstCommit).toMatch(/^[0-9a-f]{40}$/);
    expect(await replicas(dir, 'prod-hz')).toBe(5);
    expect(await replicas(dir, 'prod-sh')).toBe(3);
    expect(await replicas(dir, 'edge-1')).toBe(1);
    // The chart's values stacked by labels: 2 globally, 4 in Hangzhou, 3 in Shanghai, 1 on edge-1.
    expect(await replicas(dir, 'prod-hz', 'api')).toBe(4);
    expect(await replicas(dir, 'prod-sh', 'api')).toBe(3);
    expect(await replicas(dir, 'edge-1', 'api')).toBe(1);
    const api = (await deployment(dir, 'prod-hz', 'api')).spec?.template.spec?.containers[0]?.image;
    expect(api).toBe('registry-cn-hangzhou.example.com/shop/api:2.4.1');
    // The kustomize overlay: its generated ConfigMap's hash-suffixed name, rewritten into the Deployment.
    const cache = (await deployment(dir, 'prod-sh', 'cache')).spec?.template.spec?.containers[0];
    expect(cache?.image).toBe('registry.example.com/shop/cache:7.4');
    expect(cache?.envFrom?.[0]?.configMapRef?.name).toMatch(/^cache-config-[a-z0-9]{10}$/);
    // Each agent reports what discovery found, which a preview from the hub renders charts with.
    const detail = (await (await fetch(`${state.hubUrl}/api/v1/clusters/prod-hz`)).json()) as {
      report: { kube?: { version: string; apiVersions: string[] } };
    };
    expect(detail.report.kube?.version).toMatch(/^v1\.\d+\.\d+/);
    expect(detail.report.kube?.apiVersions).toContain('apps/v1');
    // The demo announces it too, with the time it took.
    await until('the demo announcing the synced fleet', 30_000, async () =>
      /All three clusters Synced on [0-9a-f]{7} \(\d+\.\d+s after start\)/.test(demo.output())
        ? true
        : undefined,
    );
    console.log(demo.output().match(/All three clusters Synced.*$/m)?.[0]);
  });

  it('shows the three clusters on the dashboard page it prints', async () => {
    expect(demo.output()).toContain(`Dashboard: ${state.hubUrl}/`);
    const html = await (await fetch(`${state.hubUrl}/`)).text();
    for (const name of NAMES) expect(html).toContain(name);
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      await page.goto(`${state.hubUrl}/`);
      for (const name of NAMES) await page.getByRole('link', { name, exact: true }).first().waitFor();
      mkdirSync(path.join(ROOT, 'test-results'), { recursive: true });
      await page.screenshot({ path: path.join(ROOT, 'test-results/demo-overview.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });

  it('prints commands that push a change, and the agents apply it (prod-sh to 4 replicas)', async () => {
    await runStep(guide[0]!, demo.output());
    const fleet = await until('every cluster on the pushed commit', 120_000, async () => {
      const f = await fetchFleet(state.hubUrl);
      return NAMES.every((n) => cluster(f, n)?.phase === 'Synced' && cluster(f, n)?.commit !== firstCommit)
        ? f
        : undefined;
    });
    expect(new Set(NAMES.map((n) => cluster(fleet, n)?.commit)).size).toBe(1);
    expect(await replicas(dir, 'prod-sh')).toBe(4);
    expect(await replicas(dir, 'prod-hz')).toBe(5);
    synced = fleet;
  });

  it('prints commands that open a pull-request ref and preview it: only prod-hz changes', async () => {
    const preview = await runStep(guide[1]!, demo.output());
    expect(preview).toMatch(/prod-hz/);
    expect(preview).toMatch(/replicas/);
    expect(preview).toMatch(/\b5\b[\s\S]*\b6\b/);
    // Nothing was merged: the clusters still run main.
    expect(await replicas(dir, 'prod-hz')).toBe(5);
    // The agents dry-run the PR against their live clusters; the hub page the demo prints shows it.
    const page = `${state.hubUrl}/previews/${encodeURIComponent(PR_REF)}`;
    expect(demo.output()).toContain(page);
    const live = await until('every cluster planning the PR', 180_000, async () => {
      const answer = await fetch(`${state.hubUrl}/api/v1/previews/${encodeURIComponent(PR_REF)}`);
      if (!answer.ok) return undefined;
      const view = (await answer.json()) as {
        clusters: { name: string; state: string; entries: unknown[] }[];
      };
      return NAMES.every((n) => view.clusters.find((c) => c.name === n)?.state === 'planned')
        ? view
        : undefined;
    });
    const touchesWeb = (name: string) =>
      JSON.stringify(live.clusters.find((c) => c.name === name)?.entries).includes(
        'apps/Deployment/shop/web',
      );
    expect(NAMES.filter(touchesWeb)).toEqual(['prod-hz']);
    const html = await (await fetch(page)).text();
    for (const name of NAMES) expect(html).toContain(name);
  });

  it('keeps edge-1 Synced on its commit while the Git server is stopped, and catches up after', async () => {
    expect(guide[2]!.commands).toEqual([`npm run demo -- git stop --dir ${dir}`]);
    const before = cluster(synced, 'edge-1')!.commit;
    expect(await runStep(guide[2]!, demo.output())).toContain('Git server stopped');
    const edge = await until('edge-1 reporting its source unreachable', 60_000, async () => {
      const e = cluster(await fetchFleet(state.hubUrl), 'edge-1');
      return e?.sourceUnavailable ? e : undefined;
    });
    expect(edge.commit).toBe(before);
    expect(edge.phase).toBe('Synced');
    expect(await replicas(dir, 'edge-1')).toBe(1);
    expect(await runStep(guide[3]!, demo.output())).toContain('Git server started again');
    await until('edge-1 reachable again', 60_000, async () => {
      const e = cluster(await fetchFleet(state.hubUrl), 'edge-1');
      return e && !e.sourceUnavailable && e.phase === 'Synced' ? e : undefined;
    });
  });

  it('stages a commit in two waves: edge-1 first, prod-hz and prod-sh only after its 20 s soak', async () => {
    await runStep(guide[4]!, demo.output());
    const head = (await shell(`git -C ${dir}/fleet rev-parse HEAD`)).stdout.trim();
    const atEdge = await until('edge-1 to apply the staged commit', 120_000, async () => {
      const f = await fetchFleet(state.hubUrl);
      return cluster(f, 'edge-1')?.commit === head && cluster(f, 'edge-1')?.phase === 'Synced'
        ? f
        : undefined;
    });
    // The others keep enforcing their commit meanwhile (the soak has 20 s to run).
    for (const name of ['prod-hz', 'prod-sh']) expect(cluster(atEdge, name)?.commit, name).not.toBe(head);
    const status = await until('the hub to show the rollout', 60_000, async () => {
      const out = await shell(guide[5]!.commands[0]!);
      return out.code === 0 ? out.stdout : undefined;
    });
    expect(status).toMatch(/wave 0 canary: /);
    expect(status).toMatch(/wave 1 rest: /);
    await until('every cluster on the staged commit', 180_000, async () => {
      const f = await fetchFleet(state.hubUrl);
      return NAMES.every((n) => cluster(f, n)?.commit === head && cluster(f, n)?.phase === 'Synced')
        ? f
        : undefined;
    });
    const rollout = (await (await fetch(`${state.hubUrl}/api/v1/rollouts/${head}`)).json()) as {
      events: { at: string; kind: string; detail: string }[];
    };
    const at = (kind: string, detail: string) =>
      Date.parse(rollout.events.find((e) => e.kind === kind && e.detail === detail)?.at ?? 'NaN');
    for (const name of ['prod-hz', 'prod-sh'])
      expect(at('released', name) - at('healthy', 'edge-1'), name).toBeGreaterThanOrEqual(20_000);
    console.log(
      `rollout timeline of ${head.slice(0, 12)}:\n${rollout.events.map((e) => `  ${e.at} ${e.kind} ${e.detail}`).join('\n')}`,
    );
  });

  it('installs the agent chart with the README values and command (helm install against prod-hz)', async () => {
    const text = readme();
    const installs = shellCommands(text).filter((c) => c.startsWith('helm install '));
    expect(installs.length).toBeGreaterThan(0);
    const scratch = mkdtempSync(path.join(tmpdir(), 'strata-demo-helm-'));
    try {
      symlinkSync(path.join(ROOT, 'charts'), path.join(scratch, 'charts'));
      writeFileSync(path.join(scratch, 'agent-values.yaml'), yamlBlockAfter(text, '`agent-values.yaml`'));
      const env = {
        ...process.env,
        PATH: `${path.dirname(helmBinary())}:${process.env.PATH}`,
        KUBECONFIG: path.join(dir, 'prod-hz', 'kubeconfig'),
        HELM_CACHE_HOME: path.join(scratch, '.helm/cache'),
        HELM_CONFIG_HOME: path.join(scratch, '.helm/config'),
        HELM_DATA_HOME: path.join(scratch, '.helm/data'),
      };
      for (const command of installs) {
        const result = await shell(command, { cwd: scratch, env });
        expect(result.code, `${command}\n${result.stdout}\n${result.stderr}`).toBe(0);
        expect(result.stdout).toContain('STATUS: deployed');
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    const kc = new KubeConfig();
    kc.loadFromFile(path.join(dir, 'prod-hz', 'kubeconfig'));
    const deployments = await kc.makeApiClient(AppsV1Api).listNamespacedDeployment({
      namespace: 'strata-system',
      labelSelector: 'app.kubernetes.io/instance=strata-agent',
    });
    const agent = deployments.items[0];
    expect(agent?.spec?.template.spec?.containers[0]?.image).toBe('registry.example.com/strata:0.1.0');
    expect(agent?.spec?.template.spec?.securityContext?.runAsNonRoot).toBe(true);
  });

  it('stops every process it started on Ctrl-C (SIGINT to its process group)', async () => {
    const pgid = demo.npm.pid!;
    const pids = [...state.agents.map((a) => a.pid), state.pid, ...labPids(dir)];
    expect(pids.length).toBe(3 + 1 + 3 * 5);
    expect(processesOf(dir, pgid).length).toBeGreaterThanOrEqual(pids.length);
    process.kill(-pgid, 'SIGINT');
    // npm ends at once on SIGINT (killed by it); the demo goes on stopping what it started.
    await until('the demo process to end', 120_000, async () => (isAlive(state.pid) ? undefined : true));
    await until('the demo to report its clean-up', 5_000, async () =>
      demo.output().includes('Done: nothing left running') ? true : undefined,
    );
    const output = demo.output();
    const cleanUp = output
      .slice(
        output.lastIndexOf('Stopping everything the demo started'),
        output.lastIndexOf('Done: nothing left running'),
      )
      .split('\n')
      .slice(1)
      .map((line) => line.trim())
      // Step lines ("[ 12.3s] …") and a relayed second SIGINT's "still cleaning up" are not results.
      .filter((line) => line !== '' && !line.startsWith('[') && !/^SIG\w+: still cleaning up/.test(line));
    expect(cleanUp.filter((line) => !line.endsWith(' stopped'))).toEqual([]);
    expect(cleanUp).toEqual(
      expect.arrayContaining([
        ...NAMES.map((n) => `agent ${n} stopped`),
        'hub stopped',
        'Git server stopped',
        'lab clusters stopped',
      ]),
    );
    await until('every process gone', 15_000, async () =>
      processesOf(dir, pgid).length === 0 ? true : undefined,
    );
    const alive = pids.filter(isAlive);
    expect(alive).toEqual([]);
    expect(existsSync(path.join(dir, 'demo.json'))).toBe(false);
  });
});

describe('npm run demo -- --exit-when-synced', { timeout: 20 * 60_000 }, () => {
  it('exits 0 once the three clusters are Synced, after stopping everything', async () => {
    const dir = path.join(ROOT, '.lab', `demo-once-${process.pid}`);
    rmSync(dir, { recursive: true, force: true });
    const demo = startDemo(dir, ['--exit-when-synced', '--timeout', '600']);
    try {
      const code = await Promise.race([demo.exited, sleep(15 * 60_000).then(() => 'timeout' as const)]);
      expect(code, demo.output()).toBe(0);
      expect(demo.output()).toMatch(/All three clusters Synced on [0-9a-f]{7}/);
      expect(demo.output()).toContain('Done: nothing left running');
      expect(processesOf(dir, demo.npm.pid!)).toEqual([]);
    } finally {
      if (demo.npm.exitCode === null && demo.npm.pid) process.kill(-demo.npm.pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the README's lab commands", { timeout: 10 * 60_000 }, () => {
  it('start, show and stop lab clusters, leaving no process behind', async () => {
    const labCommands = shellCommands(readme()).filter((c) => c.startsWith('npm run lab -- '));
    expect(labCommands.map((c) => c.split(' ')[4])).toEqual(['up', 'status', 'down']);
    const labDir = /--dir (\S+)/.exec(labCommands[0]!)?.[1];
    expect(labDir).toMatch(/^\.lab\//);
    const names = /--clusters (\S+)/.exec(labCommands[0]!)![1]!.split(',');
    const absolute = path.join(ROOT, labDir!);
    try {
      const [up, status, down] = labCommands as [string, string, string];
      const started = await shell(up);
      expect(started.code, started.stderr).toBe(0);
      for (const name of names) expect(started.stdout).toContain(path.join(absolute, name, 'kubeconfig'));
      const shown = await shell(status);
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stdout.split('\n').filter((l) => /\tready\t/.test(l))).toHaveLength(names.length);
      const stopped = await shell(down);
      expect(stopped.code, stopped.stderr).toBe(0);
      expect(stopped.stdout).toContain(`stopped ${names.join(', ')}`);
      expect(processesOf(absolute, -1)).toEqual([]);
    } finally {
      await shell(`npm run lab -- down --dir ${labDir}`);
      rmSync(absolute, { recursive: true, force: true });
    }
  });
});
