/**
 * `npm run bench:sync` — the sync engine against a real lab cluster, each ratio measured in the same run:
 *   1. first apply of 1,000 objects: `strata apply` vs `kubectl apply --server-side -f` (both as processes)
 *   2. no-op reconcile of those 1,000 objects: the agent's warm reconcile vs `kubectl diff --server-side -f`
 *   3. first sync of 10,000 ConfigMaps (Config Sync publishes a 120 s median on a 9-node cluster)
 *   4. API requests per no-op reconcile and peak RSS
 *   5. listing an ApplySet's members per namespace (KEP-3659: the parent's namespace plus
 *      additional-namespaces, one LIST per kind and namespace, what the agent does) vs one
 *      cluster-wide LIST per kind (what it did before), for members spread over 1, 4 and 16
 *      namespaces; `--only listing` runs this part alone (no kubectl build)
 * kubectl is built by this script from the k8s.io/kubernetes module (bench/.work/kubectl), in a copy
 * of test/cluster's module so the lab's files stay untouched. The lab cluster is started for the run
 * (bench/.work/lab) and stopped at the end unless --keep; --kubeconfig FILE uses an existing cluster.
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { applySetId, PART_OF_LABEL, parseGroupKind } from '../agent/src/inventory/applyset.js';
import { listMembers } from '../agent/src/inventory/members.js';
import { KubeApiClient } from '../agent/src/kube/client.js';
import type { KubeObject } from '../agent/src/model/object.js';
import { syncCluster } from '../agent/src/sync/sync.js';
import { labDown, labUp } from '../test/cluster/lab-api.js';

const ROOT = resolve(import.meta.dirname, '..');
const WORK = resolve(ROOT, 'bench/.work');
const KUBECTL = resolve(WORK, 'kubectl');
const BUILT_CLI = resolve(ROOT, 'dist/agent/src/cli.js');

const { values: opts } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    keep: { type: 'boolean', default: false },
    objects: { type: 'string', default: '1000' },
    big: { type: 'string', default: '10000' },
    only: { type: 'string' },
    rounds: { type: 'string', default: '7' },
  },
});
const N = Number(opts.objects);
const BIG = Number(opts.big);

function say(line: string) {
  process.stdout.write(`${line}\n`);
}

/** kubectl from the same Kubernetes module the lab's apiserver comes from. */
function buildKubectl(): void {
  if (existsSync(KUBECTL)) return;
  const mod = resolve(WORK, 'kubectl-mod');
  mkdirSync(mod, { recursive: true });
  copyFileSync(resolve(ROOT, 'test/cluster/go.mod'), resolve(mod, 'go.mod'));
  copyFileSync(resolve(ROOT, 'test/cluster/go.sum'), resolve(mod, 'go.sum'));
  writeFileSync(
    resolve(mod, 'tools.go'),
    '//go:build tools\n\npackage tools\n\nimport _ "k8s.io/kubernetes/cmd/kubectl"\n',
  );
  say('building kubectl from k8s.io/kubernetes (first run only)…');
  const began = Date.now();
  execFileSync(
    'go',
    [
      'build',
      '-mod=mod',
      '-p',
      '2',
      '-trimpath',
      '-ldflags',
      '-s -w',
      '-o',
      KUBECTL,
      'k8s.io/kubernetes/cmd/kubectl',
    ],
    {
      cwd: mod,
      stdio: 'inherit',
      env: { ...process.env, CGO_ENABLED: '0' },
    },
  );
  say(`kubectl built in ${((Date.now() - began) / 1000).toFixed(0)} s`);
}

/** `strata` as users run it: the build (`npm run build`), as the package's bin points at it. */
function strataCommand(): string[] {
  say('building strata (npm run build)…');
  execFileSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (!existsSync(BUILT_CLI)) throw new Error(`npm run build did not produce ${BUILT_CLI}`);
  return [BUILT_CLI];
}

function configMaps(ns: string, count: number, version: string): KubeObject[] {
  return Array.from({ length: count }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `cm-${String(i).padStart(5, '0')}`, namespace: ns, labels: { app: 'bench' } },
    data: { version, index: String(i), payload: 'x'.repeat(200) },
  }));
}

/** A fleet repo whose global layer holds the objects as plain manifests (kubectl reads the same files). */
function writeRepo(dir: string, objects: KubeObject[]): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(resolve(dir, 'global'), { recursive: true });
  const yaml = objects.map((o) => JSON.stringify(o)).join('\n---\n');
  writeFileSync(resolve(dir, 'global/objects.yaml'), `${yaml}\n`);
  return resolve(dir, 'global');
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const began = performance.now();
  const value = await work();
  return { ms: performance.now() - began, value };
}

/** Peak resident memory (VmHWM, KiB) of the last process runProcess ran, sampled while it ran. */
let lastPeakKb = 0;

function peakOf(pid: number | undefined): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function runProcess(cmd: string, args: string[], okCodes = [0]): Promise<number> {
  return new Promise((done, fail) => {
    const began = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    lastPeakKb = 0;
    const sampler = setInterval(() => {
      lastPeakKb = Math.max(lastPeakKb, peakOf(child.pid));
    }, 50);
    child.on('exit', () => clearInterval(sampler));
    let err = '';
    child.stderr.on('data', (c) => {
      err += String(c);
    });
    child.on('error', fail);
    child.on('exit', (code) => {
      if (okCodes.includes(code ?? -1)) done(performance.now() - began);
      else fail(new Error(`${cmd} ${args.slice(0, 3).join(' ')} exited ${code}: ${err.slice(-2000)}`));
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const fmt = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`);

async function ensureNamespace(client: KubeApiClient, name: string) {
  await client.apply(
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
    { fieldManager: 'bench', force: true },
  );
}

/** The kinds an ApplySet typically records (its `contains-group-kinds`); only ConfigMaps hold members. */
const LISTED_KINDS = ['ConfigMap', 'Secret', 'ServiceAccount', 'Service', 'Deployment.apps'];

/**
 * 5. Member listing cost: for N ConfigMaps spread over 1, 4 and 16 namespaces, the agent's
 * per-namespace listing (listMembers) against one cluster-wide LIST per kind, same label selector,
 * alternated in each round so a busy machine weighs on both alike.
 */
async function listingCost(client: KubeApiClient, run: string, namespaces: string[]): Promise<void> {
  const rounds = Number(opts.rounds);
  say(
    `\n## ApplySet member listing, ${N} members, ${LISTED_KINDS.length} recorded kinds, median of ${rounds} rounds`,
  );
  say(
    '| namespaces | per-namespace LISTs | per-namespace | cluster-wide LISTs | cluster-wide | per-namespace ÷ cluster-wide |',
  );
  say('|--:|--:|--:|--:|--:|--:|');
  for (const count of [1, 4, 16]) {
    const spread = Array.from({ length: count }, (_, i) => `bench-ls-${run}-${count}-${i}`);
    for (const ns of spread) await ensureNamespace(client, ns);
    namespaces.push(...spread);
    const parent = { name: `bench-ls-${run}-${count}`, namespace: spread[0]! };
    const objects = spread.flatMap((ns, i) =>
      configMaps(ns, Math.floor(N / count) + (i < N % count ? 1 : 0), '1'),
    );
    const synced = await syncCluster({ client, objects, applySet: parent });
    if (synced.counts.created !== N)
      throw new Error(`listing setup created ${synced.counts.created} of ${N}`);
    const id = applySetId(parent);
    const inventory = { groupKinds: LISTED_KINDS, namespaces: spread.slice(1) };
    const perNamespace = async () => {
      const listed = await listMembers(client, id, parent, inventory);
      const items = listed.reduce((n, l) => n + l.items.length, 0);
      if (items !== N || listed.some((l) => l.error))
        throw new Error(`per-namespace listing found ${items} of ${N}`);
    };
    const clusterWide = async () => {
      let items = 0;
      await Promise.all(
        LISTED_KINDS.map(async (groupKind) => {
          const { group, kind } = parseGroupKind(groupKind);
          const info = await client.resourceForGroupKind(group, kind);
          if (!info) return;
          const apiVersion = info.group ? `${info.group}/${info.version}` : info.version;
          const listed = await client.list(apiVersion, info.kind, {
            labelSelector: `${PART_OF_LABEL}=${id}`,
          });
          items += listed.length; // after the await: a read before it would race the other kinds
        }),
      );
      if (items !== N) throw new Error(`cluster-wide listing found ${items} of ${N}`);
    };
    await perNamespace(); // warm discovery for both
    await clusterWide();
    const times = { per: [] as number[], wide: [] as number[] };
    const requests = { per: 0, wide: 0 };
    for (let r = 0; r < rounds; r++) {
      for (const [key, work] of (r % 2 === 0
        ? [
            ['per', perNamespace],
            ['wide', clusterWide],
          ]
        : [
            ['wide', clusterWide],
            ['per', perNamespace],
          ]) as ['per' | 'wide', () => Promise<void>][]) {
        const before = client.requestCount;
        times[key].push((await timed(work)).ms);
        requests[key] = client.requestCount - before;
      }
    }
    const per = median(times.per);
    const wide = median(times.wide);
    say(
      `| ${count} | ${requests.per} | ${fmt(per)} | ${requests.wide} | ${fmt(wide)} | ${(per / wide).toFixed(2)}× time, ${(requests.per / requests.wide).toFixed(1)}× requests |`,
    );
  }
}

async function main(): Promise<void> {
  mkdirSync(WORK, { recursive: true });
  const listingOnly = opts.only === 'listing';
  if (opts.only !== undefined && !listingOnly)
    throw new Error(`--only ${opts.only}: the only part is 'listing'`);
  if (!listingOnly) buildKubectl();
  const strata = listingOnly ? [] : strataCommand();
  let kubeconfig = opts.kubeconfig;
  const labDir = resolve(WORK, 'lab');
  if (!kubeconfig) {
    say('starting a lab cluster…');
    const [cluster] = await labUp({ names: ['bench'], dir: labDir });
    kubeconfig = cluster!.kubeconfigPath;
  }
  const client = KubeApiClient.connect({ kubeconfig, maxSockets: 32 });
  const run = Date.now().toString(36);
  const nsStrata = `bench-strata-${run}`;
  const nsKubectl = `bench-kubectl-${run}`;
  const nsBig = `bench-big-${run}`;
  const extraNamespaces: string[] = [];
  try {
    if (listingOnly) {
      await listingCost(client, run, extraNamespaces);
      return;
    }
    for (const ns of [nsStrata, nsKubectl, nsBig]) await ensureNamespace(client, ns);
    say(`\n# Sync benchmark (${N} objects; ${BIG} for the large sync) — ${new Date().toISOString()}`);

    // 1. First apply, both as whole processes, alternated over two rounds (fresh namespaces each)
    //    so a busy machine weighs on both tools alike.
    const strataRepo = resolve(WORK, 'repo-strata');
    const kubectlRepo = resolve(WORK, 'repo-kubectl');
    const state = resolve(WORK, `state-${run}`);
    /** `strata apply` of the bench repository as its own process; resolves to its wall time. */
    const runStrataApply = (applySet: string, stateDir: string) =>
      runProcess(process.execPath, [
        ...strata,
        ...['apply', '--repo', strataRepo, '--cluster', 'bench', '--kubeconfig', kubeconfig],
        ...['--applyset', applySet, '--state', stateDir, '--format', 'json'],
      ]);
    const strataTimes: number[] = [];
    const strataPeaks: number[] = [];
    const kubectlTimes: number[] = [];
    for (const round of [0, 1]) {
      const sNs = round === 1 ? nsStrata : `${nsStrata}-r0`;
      const kNs = round === 1 ? nsKubectl : `${nsKubectl}-r0`;
      for (const ns of [sNs, kNs]) await ensureNamespace(client, ns);
      writeRepo(strataRepo, configMaps(sNs, N, '1'));
      const kubectlDir = writeRepo(kubectlRepo, configMaps(kNs, N, '1'));
      strataTimes.push(
        await runStrataApply(
          round === 1 ? `bench-${run}` : `bench-${run}-r0`,
          round === 1 ? state : `${state}-r0`,
        ),
      );
      strataPeaks.push(lastPeakKb);
      kubectlTimes.push(
        await runProcess(KUBECTL, [
          '--kubeconfig',
          kubeconfig,
          'apply',
          '--server-side',
          '--field-manager',
          'kubectl-bench',
          '-f',
          kubectlDir,
        ]),
      );
      extraNamespaces.push(sNs, kNs);
    }
    const strataApply = strataTimes.reduce((a, b) => a + b) / 2;
    const kubectlApply = kubectlTimes.reduce((a, b) => a + b) / 2;
    say(
      `first apply of ${N} ConfigMaps (mean of 2 alternated rounds): strata apply ${fmt(strataApply)} [${strataTimes.map(fmt).join(', ')}], kubectl apply --server-side ${fmt(kubectlApply)} [${kubectlTimes.map(fmt).join(', ')}] → ratio ${(kubectlApply / strataApply).toFixed(2)}× (target ≥ 1×)`,
    );
    const kubectlDir = resolve(kubectlRepo, 'global');
    say(
      `  peak RSS of the strata apply process (${N} objects): ${(Math.max(...strataPeaks) / 1024).toFixed(0)} MiB`,
    );

    // 2. No-op reconcile: the agent's warm loop (cache + one LIST per kind) vs kubectl diff --server-side.
    const objects = configMaps(nsStrata, N, '1');
    const applySet = { name: `bench-${run}`, namespace: 'strata-system' };
    await syncCluster({ client, objects, applySet, stateDir: state }); // warm the client (discovery), settle the cache
    const noops: number[] = [];
    let requests = 0;
    let dryRuns = 0;
    for (let i = 0; i < 5; i++) {
      const { ms, value } = await timed(() =>
        syncCluster({ client, objects, applySet, stateDir: state, policy: { fullVerifyEvery: 0 } }),
      );
      noops.push(ms);
      requests = value.stats.requests;
      dryRuns = value.stats.dryRuns;
      if (value.counts.unchanged !== N + 0 || value.errors.length)
        throw new Error(`no-op was not a no-op: ${JSON.stringify(value.counts)}`);
    }
    const cliNoop = await runStrataApply(`bench-${run}`, state);
    const cliNoopPeakKb = lastPeakKb;
    const diffs: number[] = [];
    for (let i = 0; i < 3; i++) {
      diffs.push(
        await runProcess(
          KUBECTL,
          [
            '--kubeconfig',
            kubeconfig,
            'diff',
            '--server-side',
            '--field-manager',
            'kubectl-bench',
            '-f',
            kubectlDir,
          ],
          [0, 1],
        ),
      );
    }
    const full = await timed(() =>
      syncCluster({ client, objects, applySet, policy: { fullVerifyEvery: 1 } }),
    );
    say(
      `no-op reconcile of ${N} objects: strata (agent, warm) median ${fmt(median(noops))}, kubectl diff --server-side median ${fmt(median(diffs))} → ${(median(diffs) / median(noops)).toFixed(1)}× faster (target ≥ 10×)`,
    );
    say(
      `  same no-op as a cold \`strata apply --state\` process: ${fmt(cliNoop)} (${(median(diffs) / cliNoop).toFixed(1)}× vs kubectl diff), peak RSS ${(cliNoopPeakKb / 1024).toFixed(0)} MiB`,
    );
    say(
      `  full re-verify (dry-run of every object, every ${'N-th'} cycle): ${fmt(full.ms)} with ${full.value.stats.requests} requests`,
    );
    say(
      `API requests per no-op reconcile: ${requests} (dry-runs: ${dryRuns}); kubectl diff sends ≥ ${2 * N}`,
    );

    // 3. First sync of 10,000 ConfigMaps.
    const big = configMaps(nsBig, BIG, '1');
    const rssBefore = process.resourceUsage().maxRSS;
    const bigRun = await timed(() =>
      syncCluster({
        client,
        objects: big,
        applySet: { name: `bench-big-${run}`, namespace: 'strata-system' },
      }),
    );
    if (bigRun.value.counts.created !== BIG)
      throw new Error(
        `large sync created ${bigRun.value.counts.created} of ${BIG}: ${JSON.stringify(bigRun.value.errors.slice(0, 3))}`,
      );
    say(
      `first sync of ${BIG} ConfigMaps: ${fmt(bigRun.ms)} (target < 30 s; Config Sync publishes 120 s median), ${bigRun.value.stats.requests} requests`,
    );
    say(
      `peak RSS of the bench process (engine + ${BIG} objects in memory): ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB (before the large sync: ${(rssBefore / 1024).toFixed(0)} MiB)`,
    );

    // 5. ApplySet member listing: per namespace vs cluster-wide.
    await listingCost(client, run, extraNamespaces);
  } finally {
    for (const ns of [nsStrata, nsKubectl, nsBig, ...extraNamespaces])
      await client.delete({ apiVersion: 'v1', kind: 'Namespace', name: ns }).catch(() => false);
    for (const name of [`bench-${run}`, `bench-${run}-r0`, `bench-big-${run}`]) {
      await client
        .delete({ apiVersion: 'v1', kind: 'Secret', namespace: 'strata-system', name })
        .catch(() => false);
    }
    client.close();
    if (!opts.kubeconfig && !opts.keep) await labDown(labDir);
  }
}

main().catch((err) => {
  process.stderr.write(`bench:sync failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
