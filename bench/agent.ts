/**
 * `npm run bench:agent` — figures for the agent's resident memory and reaction time:
 *  1. fetch of one new commit in a 10,000-file repository: isomorphic-git (the agent's GitSource)
 *     vs `git fetch --depth 1`, both from the same git http-backend on loopback (target ≤ 2×);
 *  2. RSS of an agent process managing 1,000 objects on a real lab cluster, beside Node's own
 *     baseline (an idle `node` process) (target ≤ 70 MB);
 *  3. time from a push to the object applied, with POST /sync and with a 5 s schedule.
 *  4. reconciles of a repository whose layers hold a 30-template Helm chart and a kustomize overlay:
 *     the first (tool processes started), a no-op one of the same commit, and one after a restart
 *     with the same state directory (target: 0 tool processes for both).
 * Parts 2–3 start a lab cluster (`.lab/bench`); `--fetch-only` runs part 1 alone, `--agent-only` parts 2–3,
 * `--tools-only` part 4.
 * The agent runs as the image runs it (the Dockerfile's ENTRYPOINT and ENV, on the compiled dist/).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { renderCluster } from '../agent/src/render/index.js';
import { createRenderTools } from '../agent/src/render-tools/index.js';
import { FolderTree } from '../agent/src/source/folder.js';
import { GitSource } from '../agent/src/source/git.js';
import { labDown, labUp } from '../test/cluster/lab-api.js';
import { commitFiles, createRepo, git, startGitServer } from '../test/git/index.js';
import { toolPath } from '../test/support/tools.js';
import { type AgentRun, agentLaunch, startAgent } from './lib/agent-launch.js';
import { toolClusters, writeToolsFleet } from './lib/tools-fleet.js';

const silent = pino({ level: 'silent' });
const fetchOnly = process.argv.includes('--fetch-only');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

const ms = (n: number) => `${n.toFixed(0)} ms`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

async function rssOf(pid: number): Promise<{ rss: number; hwm: number; anon: number; file: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile') };
}

async function benchFetch(tmp: string): Promise<void> {
  const root = path.join(tmp, 'repos');
  const repo = await createRepo(root, 'big');
  const files: Record<string, string> = {};
  for (let i = 0; i < 10_000; i++) {
    files[`apps/team-${i % 100}/cm-${i}.yaml`] =
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-${i}\n  namespace: bench\ndata:\n  value: "${i}"\n`;
  }
  await commitFiles(repo, files);
  const server = await startGitServer({ root });
  try {
    const source = await GitSource.open({
      url: server.url('big'),
      ref: 'main',
      timeoutMs: 120_000,
      cacheDir: path.join(tmp, 'iso'),
      log: silent,
    });
    let t = performance.now();
    await source.fetch();
    const isoInitial = performance.now() - t;
    const cli = path.join(tmp, 'cli');
    t = performance.now();
    await git([
      'clone',
      '--quiet',
      '--bare',
      '--depth',
      '1',
      '--single-branch',
      '--branch',
      'main',
      server.url('big'),
      cli,
    ]);
    const cliInitial = performance.now() - t;

    const iso: number[] = [];
    const native: number[] = [];
    for (let round = 0; round < 5; round++) {
      await commitFiles(repo, { [`apps/team-${round}/cm-${round}.yaml`]: `changed: ${round}\n` });
      t = performance.now();
      const state = await source.fetch();
      iso.push(performance.now() - t);
      if (state.error) throw new Error(`isomorphic-git fetch failed: ${state.error.message}`);
      t = performance.now();
      await git(['fetch', '--quiet', '--depth', '1', 'origin', '+refs/heads/main:refs/heads/main'], {
        cwd: cli,
      });
      native.push(performance.now() - t);
    }
    console.log('\n## Fetch of one new commit, 10,000-file repository (median of 5)');
    console.log(`initial shallow fetch: isomorphic-git ${ms(isoInitial)}, git ${ms(cliInitial)}`);
    console.log(
      `isomorphic-git (GitSource.fetch): ${ms(median(iso))}  [${iso.map((x) => x.toFixed(0)).join(', ')}]`,
    );
    console.log(
      `git fetch --depth 1:              ${ms(median(native))}  [${native.map((x) => x.toFixed(0)).join(', ')}]`,
    );
    console.log(`ratio: ${(median(iso) / median(native)).toFixed(2)}× (target ≤ 2×)`);
  } finally {
    await server.close();
  }
}

/** The agent's own heap figures from its /metrics (prom-client's default Node metrics). */
async function heapFigures(port: number): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const value = (name: string, space?: string) => {
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`strata_agent_${name}`) && (!space || l.includes(`space="${space}"`)));
    return Number(line?.split(' ').at(-1) ?? Number.NaN);
  };
  const spaces = ['new', 'old', 'code', 'large_object']
    .map((s) => `${s} ${mb(value('nodejs_heap_space_size_total_bytes', s))}`)
    .join(', ');
  return `heap used ${mb(value('nodejs_heap_size_used_bytes'))} of ${mb(value('nodejs_heap_size_total_bytes'))} (${spaces}); external ${mb(value('nodejs_external_memory_bytes'))}`;
}

async function nodeBaseline(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 1000));
  const { rss } = await rssOf(child.pid as number);
  child.kill('SIGKILL');
  return rss;
}

async function runAgent(configFile: string): Promise<AgentRun> {
  // BENCH_AGENT_NODE_ARGS='--flag …' adds Node/V8 options to the agent's command line (experiments).
  const extraNodeArgs = process.env.BENCH_AGENT_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? [];
  return startAgent(configFile, { extraNodeArgs });
}

async function benchCluster(tmp: string): Promise<void> {
  const labDir = path.resolve('.lab/bench');
  const [cluster] = await labUp({ names: ['bench'], dir: labDir, log: silent });
  if (!cluster) throw new Error('no lab cluster');
  const core = (await import('@kubernetes/client-node')).KubeConfig;
  const kc = new core();
  kc.loadFromFile(cluster.kubeconfigPath);
  const api = kc.makeApiClient(CoreV1Api);
  const root = path.join(tmp, 'fleet-repos');
  const repo = await createRepo(root, 'fleet');
  const files: Record<string, string> = {
    'global/ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: { name: bench }\n',
  };
  for (let i = 0; i < 999; i++) {
    files[`global/cm-${i}.yaml`] =
      `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: cm-${i}, namespace: bench }\ndata: { value: "v0" }\n`;
  }
  await commitFiles(repo, files);
  const server = await startGitServer({ root });
  const config = (name: string, interval: string) => ({
    cluster: { name: 'bench', labels: {} },
    sources: [{ name: 'fleet', url: server.url('fleet'), interval, timeout: '30s' }],
    kube: { kubeconfig: cluster.kubeconfigPath, namespace: 'strata-bench' },
    stateDir: path.join(tmp, `state-${name}`),
    listen: '127.0.0.1:0',
    // info: the "Listening." line tells the bench the agent's port.
    log: { level: 'info' },
  });
  const live = async (name: string) =>
    (await api.readNamespacedConfigMap({ name, namespace: 'bench' }).catch(() => undefined))?.data?.value;
  try {
    const manualFile = path.join(tmp, 'manual.yaml');
    await writeFile(manualFile, stringify(config('manual', '1h')));
    const baseline = await nodeBaseline();
    const agent = await runAgent(manualFile);
    let t = performance.now();
    await fetch(`http://127.0.0.1:${agent.port}/sync`, { method: 'POST' });
    const firstSync = performance.now() - t;
    const manual: number[] = [];
    for (let round = 1; round <= 5; round++) {
      await commitFiles(repo, {
        'global/cm-0.yaml': files['global/cm-0.yaml']?.replace('v0', `m${round}`) ?? '',
      });
      t = performance.now();
      await fetch(`http://127.0.0.1:${agent.port}/sync`, { method: 'POST' });
      while ((await live('cm-0')) !== `m${round}`) await new Promise((r) => setTimeout(r, 20));
      manual.push(performance.now() - t);
    }
    const mem = await rssOf(agent.pid);
    // BENCH_AGENT_SMAPS=FILE keeps the agent's memory map for a closer look.
    if (process.env.BENCH_AGENT_SMAPS)
      await writeFile(process.env.BENCH_AGENT_SMAPS, await readFile(`/proc/${agent.pid}/smaps`));
    const heap = await heapFigures(agent.port);
    // The agent idles between reconciles: its resident memory there, a second after the reconcile
    // (the agent collects its garbage 250 ms after one) and once V8's memory reducer has run too.
    await new Promise((r) => setTimeout(r, 1_000));
    const settled = await rssOf(agent.pid);
    await new Promise((r) => setTimeout(r, 11_000));
    const idle = await rssOf(agent.pid);
    const idleHeap = await heapFigures(agent.port);
    await agent.stop();
    console.log('\n## Agent managing 1,000 objects (999 ConfigMaps + 1 Namespace), real kube-apiserver');
    const launch = agentLaunch();
    const envText = Object.entries(launch.env)
      .map(([k, v]) => `${k}=${v} `)
      .join('');
    const extraArgs = process.env.BENCH_AGENT_NODE_ARGS ? `${process.env.BENCH_AGENT_NODE_ARGS} ` : '';
    console.log(
      `agent run as the image does: ${envText}node ${extraArgs}${launch.command.slice(1).join(' ')}`,
    );
    console.log(`first full sync of 1,000 objects: ${ms(firstSync)}`);
    console.log(
      `agent RSS right after 6 reconciles: ${mb(mem.rss)} (peak ${mb(mem.hwm)}; anonymous ${mb(mem.anon)}, file-backed ${mb(mem.file)})`,
    );
    console.log(`agent heap after 6 reconciles: ${heap}`);
    console.log(
      `agent RSS 1 s later, between reconciles: ${mb(settled.rss)} (anonymous ${mb(settled.anon)}, file-backed ${mb(settled.file)}); target ≤ 70 MB`,
    );
    console.log(
      `agent RSS 12 s later, idle: ${mb(idle.rss)} (anonymous ${mb(idle.anon)}, file-backed ${mb(idle.file)}); heap: ${idleHeap}`,
    );
    console.log(`Node's own baseline (idle node -e): ${mb(baseline)}`);
    console.log(
      `push → applied with POST /sync: median ${ms(median(manual))} [${manual.map((x) => x.toFixed(0)).join(', ')}]`,
    );

    const schedFile = path.join(tmp, 'sched.yaml');
    await writeFile(schedFile, stringify(config('manual', '5s')));
    const scheduled = await runAgent(schedFile);
    while ((await live('cm-0')) !== 'm5') await new Promise((r) => setTimeout(r, 50));
    const sched: number[] = [];
    for (let round = 1; round <= 4; round++) {
      await new Promise((r) => setTimeout(r, Math.random() * 5000));
      await commitFiles(repo, {
        'global/cm-0.yaml': files['global/cm-0.yaml']?.replace('v0', `s${round}`) ?? '',
      });
      t = performance.now();
      while ((await live('cm-0')) !== `s${round}`) await new Promise((r) => setTimeout(r, 20));
      sched.push(performance.now() - t);
    }
    await scheduled.stop();
    console.log(
      `push → applied with a 5 s schedule: median ${ms(median(sched))} [${sched.map((x) => x.toFixed(0)).join(', ')}]`,
    );
  } finally {
    await server.close();
    await labDown(labDir, silent);
  }
}

/** Part 4: the agent's render step (renderCluster with the agent's tools and state directory) on an unchanged commit. */
async function benchToolReconciles(tmp: string): Promise<void> {
  const work = path.join(tmp, 'tools-fleet');
  await writeToolsFleet(work, false);
  const tree = new FolderTree(work);
  const cluster = toolClusters(1)[0]!;
  const binaries = { kustomize: toolPath('kustomize'), helm: toolPath('helm') };
  const stateDir = path.join(tmp, 'tools-state');
  const reconcile = async (tools: ReturnType<typeof createRenderTools>) => {
    const before = tools.runner.stats.processes;
    const began = performance.now();
    const result = await renderCluster(tree, cluster, { tools });
    if (!result.ok) throw new Error(`render failed: ${result.errors[0]?.message}`);
    return {
      ms: performance.now() - began,
      processes: tools.runner.stats.processes - before,
      objects: result.objects.length,
    };
  };
  const agent = createRenderTools({ binaries, env: {}, stateDir });
  const first = await reconcile(agent);
  const noop = await reconcile(agent);
  const restarted = await reconcile(createRenderTools({ binaries, env: {}, stateDir }));
  console.log(
    `## render step with a 30-template Helm chart and a kustomize overlay (${first.objects} objects)`,
  );
  console.log(`  first reconcile       ${ms(first.ms)}, tool processes ${first.processes}`);
  console.log(
    `  no-op reconcile       ${ms(noop.ms)}, tool processes ${noop.processes}  (target 0: ${noop.processes === 0 ? 'met' : 'MISSED'})`,
  );
  console.log(
    `  after a restart       ${ms(restarted.ms)}, tool processes ${restarted.processes}  (target 0: ${restarted.processes === 0 ? 'met' : 'MISSED'})`,
  );
}

async function main(): Promise<void> {
  const tmp = await mkdtemp(path.join(tmpdir(), 'strata-bench-agent-'));
  try {
    console.log(`# bench:agent (node ${process.version}, ${execFileSync('nproc').toString().trim()} cores)`);
    const toolsOnly = process.argv.includes('--tools-only');
    if (!process.argv.includes('--agent-only') && !toolsOnly) await benchFetch(tmp);
    if (!fetchOnly && !toolsOnly) await benchCluster(tmp);
    if (!fetchOnly && !process.argv.includes('--agent-only')) await benchToolReconciles(tmp);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
