/**
 * `npm run bench:peers` — Strata's agent beside Flux (source-controller + kustomize-controller,
 * built from their Go modules by bench/lib/flux.ts) on the same repository, each on its own fresh
 * lab cluster, in the same run. Per object set (1,000 and 10,000 ConfigMaps; a mixed set whose
 * Deployments KWOK makes Available) it measures, for both tools: first sync, push → applied with
 * the fastest trigger and with polling at the same interval, CPU seconds and API requests per
 * no-op reconcile, RSS idle and peak, drift correction after an out-of-band edit, and prune of
 * 10 % of the objects. It prints a table with the ratio and saves everything as JSON.
 *
 *   npm run bench:peers                      # 1000, mixed, then 10000
 *   npm run bench:peers -- --quick           # 1000 only, 3 rounds, 5 no-op reconciles
 *   npm run bench:peers -- --sizes 1000,mixed --interval 10s --rounds 5 --noop-reconciles 10
 *   npm run bench:peers -- --sizes 10000 --lab-dir bench/.work/lab-peers-10k   # beside another run
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { parseDuration } from '../contract/duration.js';
import { labDown, labUp } from '../test/cluster/lab-api.js';
import {
  commitFiles,
  createRepo,
  type GitServer,
  resolveRef,
  startGitServer,
  type TestRepo,
} from '../test/git/index.js';
import { agentCommandLine, pinAgentLaunch } from './lib/agent-launch.js';
import { ensureFlux, FLUX_NAMESPACE, fluxVersion } from './lib/flux.js';
import { RawKube, readKubeTarget } from './lib/kube-raw.js';
import { createPeerIdentity, dispatchedRequests } from './lib/peer-identity.js';
import {
  availableDeployments,
  benchObjects,
  configMapValue,
  editConfigMap,
  setRunDeadline,
  waitUntil,
} from './lib/peer-observe.js';
import { cmName, objectCount, repoFiles, type Scenario, scenario } from './lib/peer-repo.js';
import { formatTable, type ToolFigures } from './lib/peer-table.js';
import { FluxTool, type PeerTool, StrataTool, type ToolName } from './lib/peer-tools.js';
import { sampleMemory, totalCpu } from './lib/proc-stats.js';

const ROOT = resolve(import.meta.dirname, '..');
const WORK = resolve(ROOT, 'bench/.work');

const { values: opts } = parseArgs({
  options: {
    sizes: { type: 'string' },
    quick: { type: 'boolean', default: false },
    interval: { type: 'string', default: '10s' },
    rounds: { type: 'string' },
    'noop-reconciles': { type: 'string' },
    timeout: { type: 'string', default: '150m' },
    json: { type: 'string' },
    keep: { type: 'boolean', default: false },
    'lab-dir': { type: 'string' },
  },
});
const SIZES = (opts.sizes ?? (opts.quick ? '1000' : '1000,mixed,10000')).split(',').map(scenario);
const INTERVAL = opts.interval;
const INTERVAL_MS = parseDuration(INTERVAL) ?? Number.NaN;
if (!(INTERVAL_MS >= 1000))
  throw new Error(`--interval: ${JSON.stringify(INTERVAL)} is not a duration of 1s or more`);
const ROUNDS = Number(opts.rounds ?? (opts.quick ? 3 : 5));
const NOOP_RECONCILES = Number(opts['noop-reconciles'] ?? (opts.quick ? 5 : 10));
const RUN_ID = new Date().toISOString().replace(/[:.]/g, '-');
const RUN_DIR = join(WORK, 'peers', RUN_ID);
// Two runs at once (say 1,000 and 10,000 on a shared machine) each need their own lab folder.
const LAB_DIR = opts['lab-dir'] ? resolve(opts['lab-dir']) : join(WORK, 'lab-peers');

function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

interface ClusterSide {
  tool: PeerTool;
  kube: RawKube;
  /** FlowSchemas whose requests are this tool's. */
  flowSchemas: string[];
  figures: Partial<ToolFigures>;
}

async function requestsOf(side: ClusterSide): Promise<number> {
  return dispatchedRequests(side.kube, side.flowSchemas);
}

/** Scales a wait to the object set: 10,000 objects take minutes where 1,000 take seconds. */
const bound = (s: Scenario, baseMs: number) => baseMs * Math.max(1, objectCount(s) / 1000);

/**
 * A tool's reconcile period as its no-op window measured it (interval plus the reconcile itself;
 * at 10,000 objects, Flux's is minutes). A change that lands during a reconcile waits for
 * that one and the next, so waits for a change allow two of them on top of their bound.
 */
function slack(side: ClusterSide): number {
  const { noopWindowS, noopReconciles } = side.figures;
  return 2 * (noopWindowS && noopReconciles ? (noopWindowS * 1000) / noopReconciles : INTERVAL_MS);
}

async function firstSync(side: ClusterSide, s: Scenario, commit: string): Promise<void> {
  const { tool, kube } = side;
  const expected = objectCount(s);
  const pollMs = expected > 2000 ? 1000 : 100;
  const since = performance.now();
  await tool.start(INTERVAL);
  const pids = tool.pids();
  const applied = await waitUntil(
    `${tool.name}: first sync, all ${expected} objects`,
    async () => (await benchObjects(kube)) === expected,
    {
      since,
      timeoutMs: bound(s, 300_000),
      everyMs: pollMs,
    },
  );
  const healthy =
    s.apps > 0
      ? await waitUntil(
          `${tool.name}: ${s.apps} Deployments Available`,
          async () => (await availableDeployments(kube)) === s.apps,
          {
            since,
            timeoutMs: bound(s, 300_000),
            everyMs: pollMs,
          },
        )
      : applied;
  const ready = await waitUntil(`${tool.name}: reports Ready/Synced`, () => tool.ready(commit), {
    since,
    timeoutMs: bound(s, 300_000) + 3 * INTERVAL_MS,
    everyMs: pollMs,
  });
  side.figures.firstSyncAppliedMs = applied;
  side.figures.firstSyncHealthyMs = healthy;
  side.figures.firstSyncReadyMs = ready;
  side.figures.firstSyncCpuS = totalCpu(pids);
  side.figures.firstSyncRequests = await requestsOf(side);
}

/** Waits for the next reconcile to finish, then measures over `count` more. */
async function noopReconciles(side: ClusterSide, s: Scenario, count: number): Promise<void> {
  const { tool } = side;
  // A no-op reconcile may take as long as the tool's first sync and more (Flux at 10,000 objects
  // on a loaded machine: over 10 minutes, against 6.7 for its first sync): allow twice that.
  const perReconcileMs =
    Math.max(bound(s, 60_000), 2 * (side.figures.firstSyncReadyMs ?? 0)) + 2 * INTERVAL_MS;
  const start = tool.loggedReconciles();
  await waitUntil(
    `${tool.name}: a reconcile to start the no-op window`,
    async () => tool.loggedReconciles() > start,
    {
      since: performance.now(),
      timeoutMs: perReconcileMs,
      everyMs: 500,
    },
  );
  // From here the tool is only watched from outside: reconciles counted in its log file, CPU and
  // memory read from /proc, requests from the apiserver's metrics.
  const pids = tool.pids();
  const r0 = tool.loggedReconciles();
  const cpu0 = totalCpu(pids);
  const req0 = await requestsOf(side);
  const memory = sampleMemory(pids);
  const since = performance.now();
  await waitUntil(
    `${tool.name}: ${count} no-op reconciles`,
    async () => tool.loggedReconciles() >= r0 + count,
    {
      since,
      timeoutMs: count * perReconcileMs,
      everyMs: 500,
    },
  );
  const done = tool.loggedReconciles() - r0;
  const { low } = memory.stop();
  side.figures.noopReconciles = done;
  side.figures.noopWindowS = (performance.now() - since) / 1000;
  side.figures.noopCpuS = (totalCpu(pids) - cpu0) / done;
  side.figures.noopRequests = ((await requestsOf(side)) - req0) / done;
  side.figures.idleRssBytes = low;
}

/** Out-of-band edits at a random point of the interval; each time until the tool has undone it. */
async function driftCorrection(side: ClusterSide, s: Scenario): Promise<void> {
  const name = cmName(1);
  side.figures.driftMs = [];
  for (let round = 0; round < Math.min(ROUNDS, 3); round++) {
    await sleep(Math.random() * INTERVAL_MS);
    await editConfigMap(side.kube, name, `edited-out-of-band-${round}`);
    const since = performance.now();
    side.figures.driftMs.push(
      await waitUntil(
        `${side.tool.name}: drift on ConfigMap ${name} corrected`,
        async () => (await configMapValue(side.kube, name)) === 'v0',
        { since, timeoutMs: bound(s, 60_000) + 3 * INTERVAL_MS + slack(side), everyMs: 50 },
      ),
    );
  }
}

async function pushApplied(
  side: ClusterSide,
  s: Scenario,
  repo: TestRepo,
  value: string,
  trigger: boolean,
): Promise<number> {
  await commitFiles(repo, repoFiles(s, { firstValue: value, pruned: false }));
  const since = performance.now();
  if (trigger) await side.tool.trigger();
  return waitUntil(
    `${side.tool.name}: push → applied (${trigger ? 'trigger' : 'polling'})`,
    async () => (await configMapValue(side.kube, cmName(0))) === value,
    { since, timeoutMs: bound(s, 60_000) + 3 * INTERVAL_MS + slack(side), everyMs: 20 },
  );
}

async function pollingRounds(side: ClusterSide, s: Scenario, repo: TestRepo): Promise<void> {
  const times: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // A push lands anywhere in the interval.
    await sleep(Math.random() * INTERVAL_MS);
    times.push(await pushApplied(side, s, repo, `poll-${side.tool.name}-${round}`, false));
  }
  side.figures.pushPollingMs = times;
}

/** Everything that runs with the tool on its interval, while the other tool is quiet. */
async function intervalPhase(side: ClusterSide, s: Scenario, repo: TestRepo, commit: string): Promise<void> {
  say(`  ${side.tool.name}: first sync…`);
  // The repository's head now: the first tool's push rounds moved it past the initial commit.
  await firstSync(side, s, (await resolveRef(repo, 'refs/heads/main')) ?? commit);
  say(`  ${side.tool.name}: ${NOOP_RECONCILES} no-op reconciles every ${INTERVAL}…`);
  await noopReconciles(side, s, NOOP_RECONCILES);
  say(`  ${side.tool.name}: drift correction, push → applied by polling…`);
  await driftCorrection(side, s);
  await pollingRounds(side, s, repo);
  // Quiet from here on: only triggers make it sync.
  await side.tool.setInterval('1h');
}

/** Triggered push rounds, alternating which tool goes first; then the prune, in `order`. */
async function triggerPhase(sides: ClusterSide[], s: Scenario, repo: TestRepo): Promise<void> {
  say(`  both: ${ROUNDS} triggered push → applied rounds, alternating…`);
  for (const side of sides) side.figures.pushTriggerMs = [];
  for (let round = 0; round < ROUNDS; round++) {
    const turn = round % 2 === 0 ? sides : [...sides].reverse();
    for (const side of turn) {
      side.figures.pushTriggerMs?.push(
        await pushApplied(side, s, repo, `trigger-${side.tool.name}-${round}`, true),
      );
    }
  }
  say('  both: prune of 10 % of the objects…');
  await commitFiles(repo, repoFiles(s, { firstValue: 'pruned', pruned: true }));
  const expected = objectCount(s, true);
  for (const side of sides) {
    const since = performance.now();
    await side.tool.trigger();
    side.figures.pruneMs = await waitUntil(
      `${side.tool.name}: prune to ${expected} objects`,
      async () => (await benchObjects(side.kube)) === expected,
      { since, timeoutMs: bound(s, 120_000) + slack(side), everyMs: expected > 2000 ? 500 : 50 },
    );
  }
}

interface ScenarioResult {
  scenario: Scenario;
  order: ToolName[];
  loadavgBefore: string;
  loadavgAfter: string;
  tools: Record<ToolName, ToolFigures>;
  /** Set when a wait ran out: the figures are those measured before it. */
  error?: string;
}

async function runScenario(
  s: Scenario,
  order: ToolName[],
  fluxBins: ReturnType<typeof ensureFlux>,
  commands: Set<string>,
): Promise<ScenarioResult> {
  const dir = join(RUN_DIR, s.name);
  mkdirSync(dir, { recursive: true });
  const loadavgBefore = loadavg();
  say(
    `\n## ${s.configMaps} ConfigMaps${s.apps ? ` + ${s.apps} Deployments and Services` : ''} (${objectCount(s)} objects) — load average ${loadavgBefore}`,
  );
  const repo = await createRepo(join(dir, 'git'), 'fleet');
  const commit = await commitFiles(repo, repoFiles(s, { firstValue: 'v0', pruned: false }));
  let server: GitServer | undefined;
  const sides: ClusterSide[] = [];
  try {
    const cleanup = async () => {
      process.stderr.write('bench:peers: interrupted; stopping the tools and the lab clusters…\n');
      for (const side of sides) await side.tool.stop().catch(() => undefined);
      if (!opts.keep) await labDown(LAB_DIR).catch(() => undefined);
      process.exit(130);
    };
    process.once('SIGINT', cleanup);
    process.once('SIGTERM', cleanup);
    server = await startGitServer({ root: join(dir, 'git') });
    // Fresh clusters: whatever an earlier (interrupted) run left is stopped first.
    await labDown(LAB_DIR);
    say('  starting two fresh lab clusters…');
    const clusters = await labUp({ names: ['peers-strata', 'peers-flux'], dir: LAB_DIR });
    for (const [i, name] of (['strata', 'flux'] as const).entries()) {
      const cluster = clusters[i];
      if (!cluster) throw new Error(`lab cluster for ${name} missing`);
      const kube = new RawKube(readKubeTarget(cluster.kubeconfigPath));
      const toolDir = join(dir, name);
      mkdirSync(toolDir, { recursive: true });
      const ctx = { kube, url: server.url('fleet'), dir: toolDir };
      if (name === 'strata') {
        const id = await createPeerIdentity(
          kube,
          'strata-system',
          'strata-agent',
          join(toolDir, 'kubeconfig'),
        );
        sides.push({
          tool: new StrataTool(ctx, id.kubeconfigPath),
          kube,
          flowSchemas: [id.flowSchema],
          figures: {},
        });
      } else {
        const source = await createPeerIdentity(
          kube,
          FLUX_NAMESPACE,
          'source-controller',
          join(toolDir, 'source.kubeconfig'),
        );
        const kustomize = await createPeerIdentity(
          kube,
          FLUX_NAMESPACE,
          'kustomize-controller',
          join(toolDir, 'kustomize.kubeconfig'),
        );
        const flux = new FluxTool(
          ctx,
          fluxBins,
          { 'source-controller': source.kubeconfigPath, 'kustomize-controller': kustomize.kubeconfigPath },
          s.apps > 0,
          // 10 minutes per 1,000 objects: one Flux reconcile of 10,000 ConfigMaps ran out of 10m here.
          `${Math.round(bound(s, 600_000) / 60_000)}m`,
        );
        await flux.prepare();
        sides.push({ tool: flux, kube, flowSchemas: [source.flowSchema, kustomize.flowSchema], figures: {} });
      }
    }
    const ordered = order.map((name) => sides.find((side) => side.tool.name === name) as ClusterSide);
    let error: string | undefined;
    try {
      for (const side of ordered) {
        await intervalPhase(side, s, repo, commit);
        for (const c of side.tool instanceof FluxTool
          ? side.tool.commands()
          : [
              `${agentCommandLine()} agent --config <agent.yaml: the source, its interval, the service account's kubeconfig>`,
            ])
          commands.add(c);
      }
      await triggerPhase(ordered, s, repo);
    } catch (err) {
      // A wait that ran out (a tool too slow for the run's --timeout at this size) keeps the rows
      // measured so far: they are printed with the gaps marked and saved with the error.
      error = err instanceof Error ? err.message : String(err);
      say(`  stopped: ${error}`);
    }
    const tools = {} as Record<ToolName, ToolFigures>;
    for (const side of sides) {
      const peak = side.tool.peak();
      // 0: the tool never ran (a run stopped before its turn).
      if (peak > 0) side.figures.peakRssBytes = peak;
      tools[side.tool.name] = side.figures as ToolFigures;
    }
    return { scenario: s, order, loadavgBefore, loadavgAfter: loadavg(), tools, ...(error ? { error } : {}) };
  } finally {
    process.removeAllListeners('SIGINT');
    process.removeAllListeners('SIGTERM');
    for (const side of sides) {
      await side.tool.stop().catch(() => undefined);
      side.kube.close();
    }
    await server?.close();
    if (!opts.keep) await labDown(LAB_DIR);
  }
}

function versions(): Record<string, string> {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  let kubernetes = 'unknown';
  try {
    kubernetes = execFileSync(join(ROOT, 'test/cluster/bin/cluster'), ['version']).toString().trim();
  } catch {
    // Printed as unknown: the lab binary is built on the first labUp.
  }
  return {
    strata: `${pkg.version} (${execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim()})`,
    node: process.version,
    'source-controller': fluxVersion('source-controller'),
    'kustomize-controller': fluxVersion('kustomize-controller'),
    'lab kube-apiserver': kubernetes,
    go: execFileSync('go', ['env', 'GOVERSION']).toString().trim(),
  };
}

async function main(): Promise<void> {
  const timeoutMs = parseDuration(opts.timeout);
  if (!timeoutMs) throw new Error(`--timeout: ${JSON.stringify(opts.timeout)} is not a duration`);
  setRunDeadline(performance.now() + timeoutMs);
  mkdirSync(RUN_DIR, { recursive: true });
  const fluxBins = ensureFlux(WORK, say);
  say('building strata (npm run build)…');
  execFileSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
  // Pinned: every agent of the run starts from this bundle, even if the sources change meanwhile.
  if (!pinAgentLaunch().bundled)
    throw new Error('npm run build did not leave a current dist/bundle/strata.js');
  const machine = {
    cpus: cpus().length,
    model: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
  };
  const started = new Date().toISOString();
  say(`\n# bench:peers — ${started}; ${machine.cpus} × ${machine.model}, ${machine.memoryGiB} GiB`);
  const vs = versions();
  say(
    Object.entries(vs)
      .map(([k, v]) => `${k} ${v}`)
      .join(', '),
  );
  say(
    `interval ${INTERVAL} (polling, no-op and drift rows, both tools), ${ROUNDS} push rounds, ${NOOP_RECONCILES} no-op reconciles`,
  );
  const results: ScenarioResult[] = [];
  const commands = new Set<string>();
  for (const [i, s] of SIZES.entries()) {
    const order: ToolName[] = i % 2 === 0 ? ['strata', 'flux'] : ['flux', 'strata'];
    results.push(await runScenario(s, order, fluxBins, commands));
  }
  say('');
  for (const r of results) say(formatTable(r, INTERVAL));
  say('\nCommands as run (each tool against its own lab cluster, as its own service account):');
  for (const c of commands) say(`  ${c.replace(`${ROOT}/`, '')}`);
  const file = opts.json ? resolve(opts.json) : join(RUN_DIR, 'results.json');
  writeFileSync(
    file,
    `${JSON.stringify({ started, finished: new Date().toISOString(), machine, versions: vs, options: { interval: INTERVAL, rounds: ROUNDS, noopReconciles: NOOP_RECONCILES }, commands: [...commands], results }, null, 2)}\n`,
  );
  say(`\nJSON: ${relative(process.cwd(), file)}`);
  const failed = results.filter((r) => r.error);
  if (failed.length > 0) {
    for (const r of failed) process.stderr.write(`bench:peers: ${r.scenario.name}: ${r.error}\n`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench:peers failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
