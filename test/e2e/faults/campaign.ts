/**
 * The fault campaign: the bundled agent syncs a real Git repository to a real lab cluster and
 * reports to the real hub while faults land at random points (seeded, printed). After every fault
 * it checks the four guarantees:
 *   1. the cluster converges to the commit (every object of the render present, at its content);
 *   2. no object in Git went missing (the objects every commit holds keep their uid: never deleted);
 *   3. no object outside the render was deleted (bystanders keep their uid and content);
 *   4. every report the agent wrote reached the hub exactly once, in order (the hub's own
 *      database holds each seq once, none skipped, each applied as the newest when it arrived).
 * Used by test/e2e/fault-campaign.test.ts (the bounded run) and bench/faults.ts (the long one).
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { open, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { applySetId, PART_OF_LABEL } from '../../../agent/src/inventory/applyset.js';
import type { KubeApiClient } from '../../../agent/src/kube/client.js';
import { restartComponent, signalComponent } from '../../cluster/lab-faults.js';
import { commitFiles, createRepo, type TestRepo } from '../../git/index.js';
import {
  ClockFile,
  GitProcess,
  HubProcess,
  type LineProcess,
  LoopMount,
  Netns,
  nsRelay,
  spawnBundledAgent,
  tcpRelay,
} from './parts.js';
import { ConfigMapWatch } from './watch.js';

export const FAULT_KINDS = [
  'agent-kill',
  'agent-kill-mid-prune',
  'apiserver-restart',
  'agent-start-while-apiserver-down',
  'etcd-pause',
  'hub-restart',
  'git-kill-mid-fetch',
  'state-full',
  'corrupt-outbox',
  'corrupt-git-cache',
  'clock-jump',
  'link-cut',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Faults that take tens of seconds each (a control-plane restart): a small share of any run. */
const SLOW: FaultKind[] = ['apiserver-restart', 'agent-start-while-apiserver-down', 'etcd-pause'];

export interface KindRow {
  kind: FaultKind;
  injected: number;
  /** Faults that hit the moment they aim at (mid-prune, mid-fetch, mid-reconcile). */
  landed: number;
  converged: number;
  /** Reports written and never stored by the hub, plus objects of the render missing after the fault. */
  lost: number;
  /** Protected objects (in every commit, or outside the render) deleted during the fault. */
  wronglyDeleted: number;
  /** Reports the hub stored as older than one it already had. */
  outOfOrder: number;
}

export interface CampaignResult {
  seed: number;
  rows: KindRow[];
  failures: string[];
  reportsWritten: number;
  reportsAtHub: number;
  seconds: number;
}

export interface CampaignOptions {
  seed: number;
  faults: number;
  /** The lab directory and the name of a running lab cluster the campaign may restart. */
  labDir: string;
  cluster: { name: string; server: string; kubeconfigPath: string };
  client: KubeApiClient;
  /** Scratch folder (repos, hub database, agent config). */
  workDir: string;
  log?: (line: string) => void;
  /** How long one fault may take to converge once healed. */
  convergeTimeoutMs?: number;
  /** Only these kinds (replaying one kind while investigating it); default all. */
  kinds?: FaultKind[];
  /** A file that keeps every agent log line and a marker at each fault (for reading a failure). */
  agentLog?: string;
}

/** mulberry32: a tiny seeded PRNG, so a printed seed replays the same schedule. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every kind at least once, the slow ones about one in thirty, the rest evenly; shuffled by the seed. */
export function schedule(
  faults: number,
  random: () => number,
  only: readonly FaultKind[] = FAULT_KINDS,
): FaultKind[] {
  const fast = only.filter((k) => !SLOW.includes(k));
  const slowEach = Math.max(1, Math.round(faults / 30));
  const kinds: FaultKind[] = [];
  for (const k of SLOW.filter((k) => only.includes(k))) for (let i = 0; i < slowEach; i++) kinds.push(k);
  if (fast.length === 0)
    while (kinds.length < faults) kinds.push(kinds[kinds.length % Math.max(1, kinds.length)] as FaultKind);
  for (let i = 0; kinds.length < faults; i++) kinds.push(fast[i % fast.length] as FaultKind);
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j] as FaultKind, kinds[i] as FaultKind];
  }
  return kinds;
}

const NS = 'strata-faults';
const PARENT_NS = 'strata-faults-system';
const KEEP = 10;
const ROTATING = 40;
const KUBE_TIMEOUT_MS = 3000;
const pad = (i: number) => String(i).padStart(2, '0');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Round r's fleet: `keep-*` in every commit; `a-*` in even rounds, `b-*` in odd ones (so each round prunes). */
export function fleet(round: number): Record<string, string> {
  const cm = (name: string) =>
    `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name}, namespace: ${NS} }\ndata: { round: "${round}" }\n`;
  const set = round % 2 === 0 ? 'a' : 'b';
  return {
    'strata.yaml': 'apiVersion: strata.dev/v1\nkind: Fleet\nlayers:\n  - path: global\n',
    'global/namespace.yaml': `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${NS} }\n`,
    'global/keep.yaml': Array.from({ length: KEEP }, (_, i) => cm(`keep-${pad(i)}`)).join('---\n'),
    'global/rotating.yaml': Array.from({ length: ROTATING }, (_, i) => cm(`${set}-${pad(i)}`)).join('---\n'),
  };
}

function desiredNames(round: number): string[] {
  const set = round % 2 === 0 ? 'a' : 'b';
  return [
    ...Array.from({ length: KEEP }, (_, i) => `keep-${pad(i)}`),
    ...Array.from({ length: ROTATING }, (_, i) => `${set}-${pad(i)}`),
  ].sort();
}

const MANAGED = /^(keep|a|b)-\d+$/;
/** Objects outside the render: one plain, one carrying the agent's part-of label (copied, never applied by Strata). */
const BYSTANDERS = ['bystander-plain', 'bystander-labelled'];

interface Fault {
  kind: FaultKind;
  index: number;
  landed: boolean;
  wronglyDeleted: string[];
}

/** Everything the campaign runs; `stop()` tears it all down. */
class Rig {
  readonly netns: Netns;
  readonly state: LoopMount;
  readonly clock: ClockFile;
  readonly hub: HubProcess;
  readonly git: GitProcess;
  repo!: TestRepo;
  agent: LineProcess | undefined;
  configFile = '';
  /** Every seq the agent logged as written to its outbox, over all its runs. */
  readonly written = new Set<number>();
  private relays: { stop(): void }[] = [];
  private supervising = true;
  agentStarts = 0;
  /** Each time the agent exited without being told to (a crash): a fault must degrade it, never stop it. */
  readonly selfExits: string[] = [];

  constructor(
    readonly opts: CampaignOptions,
    tag: string,
  ) {
    // Named and addressed by this process: two campaigns on one machine (two engineers replaying
    // seeds) must not remove each other's namespace or route each other's link addresses.
    this.netns = new Netns(`strata-${tag}`, tag, 2 + 2 * (process.pid % 110));
    this.state = new LoopMount(path.join(opts.workDir, 'state-fs'), 48);
    this.clock = new ClockFile(path.join(opts.workDir, 'clock'));
    this.hub = new HubProcess(path.join(opts.workDir, 'hub.db'), this.netns.wan.hostIp, 0, opts.cluster.name);
    this.git = new GitProcess(path.join(opts.workDir, 'repos'), this.netns.wan.hostIp);
  }

  get stateDir(): string {
    return path.join(this.state.dir, 'state');
  }

  async start(): Promise<void> {
    this.netns.create();
    this.state.mount();
    const apiPort = Number(new URL(this.opts.cluster.server).port);
    const hostRelay = await tcpRelay(this.netns.lan.hostIp, 0, '127.0.0.1', apiPort);
    this.relays.push({ stop: () => hostRelay.close() });
    const inner = await nsRelay(
      this.netns,
      apiPort,
      this.netns.lan.hostIp,
      (hostRelay.address() as { port: number }).port,
    );
    this.relays.push({ stop: () => void inner.kill() });
    this.repo = await createRepo(path.join(this.opts.workDir, 'repos'), 'fleet');
    await this.git.start();
    await this.hub.createToken();
    await this.hub.start();
    const tokenFile = path.join(this.opts.workDir, 'hub-token');
    await writeFile(tokenFile, this.hub.token);
    this.configFile = path.join(this.opts.workDir, 'agent.yaml');
    await writeFile(
      this.configFile,
      stringify({
        cluster: { name: this.opts.cluster.name, labels: { region: 'lab' } },
        sources: [{ name: 'fleet', url: this.git.url('fleet'), ref: 'main', interval: '1s', timeout: '3s' }],
        // Every report in full: the audit finds each seq the agent wrote in the hub's history.
        hub: { url: this.hub.url, tokenFile, timeout: '2s', fullReportEvery: 0 },
        kube: {
          kubeconfig: this.opts.cluster.kubeconfigPath,
          namespace: PARENT_NS,
          timeout: `${KUBE_TIMEOUT_MS}ms`,
        },
        stateDir: this.stateDir,
        listen: '127.0.0.1:0',
        prune: { enabled: true, maxFraction: 0.9 },
        outbox: { minBackoff: '100ms', maxBackoff: '1s', maxReports: 100_000 },
        log: { level: 'debug' },
      }),
    );
  }

  /** Start the agent; like a kubelet with restartPolicy Always, restart it whenever it exits by itself. */
  startAgent(): LineProcess {
    const agent = spawnBundledAgent(this.netns, this.configFile, this.clock, (l) => {
      if (this.opts.agentLog) appendFileSync(this.opts.agentLog, `${JSON.stringify(l)}\n`);
      if (l.msg === 'Report written to the outbox.' && typeof l.seq === 'number') this.written.add(l.seq);
    });
    this.agentStarts++;
    this.agent = agent;
    void agent.exited.then(async () => {
      if (this.agent !== agent || !this.supervising) return;
      const why = agent.stderr().trim().slice(-600);
      this.selfExits.push(why);
      this.mark(`agent exited by itself: ${why}`);
      this.opts.log?.(`agent exited by itself: ${why}`);
      await sleep(1000);
      if (this.agent === agent && this.supervising) this.startAgent();
    });
    return agent;
  }

  /** A line in the kept agent log, between the agent's own. */
  mark(text: string): void {
    if (this.opts.agentLog) appendFileSync(this.opts.agentLog, `## ${new Date().toISOString()} ${text}\n`);
  }

  /** Kill the running agent (SIGKILL unless told) without the supervisor restarting it. */
  async stopAgent(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const agent = this.agent;
    this.agent = undefined;
    await agent?.kill(signal);
  }

  async stop(): Promise<void> {
    this.supervising = false;
    await this.stopAgent('SIGKILL');
    await this.hub.kill();
    await this.git.kill();
    for (const relay of this.relays) relay.stop();
    this.state.unmount();
    this.netns.remove();
  }
}

/** Runs the campaign; never throws for a broken guarantee (it is in the rows and `failures`). */
export async function runCampaign(opts: CampaignOptions): Promise<CampaignResult> {
  const began = Date.now();
  const log = opts.log ?? (() => {});
  const random = seededRandom(opts.seed);
  const between = (min: number, max: number) => Math.floor(min + random() * (max - min));
  const kinds = schedule(opts.faults, random, opts.kinds);
  const rows = new Map<FaultKind, KindRow>(
    FAULT_KINDS.map((kind) => [
      kind,
      { kind, injected: 0, landed: 0, converged: 0, lost: 0, wronglyDeleted: 0, outOfOrder: 0 },
    ]),
  );
  const failures: string[] = [];
  const rig = new Rig(opts, `sf${process.pid % 100_000}`);
  const { client } = opts;
  const convergeTimeout = opts.convergeTimeoutMs ?? 90_000;
  let round = 0;
  let commit = '';
  let current: Fault | undefined;
  const protectedUids = new Map<string, string>();
  const deletedNow: { name: string; at: number }[] = [];

  const watch = new ConfigMapWatch(opts.cluster.kubeconfigPath, NS, (e) => {
    if (e.type !== 'DELETED') return;
    deletedNow.push({ name: e.name, at: Date.now() });
    const isProtected = e.name.startsWith('keep-') || BYSTANDERS.includes(e.name);
    if (isProtected && current) current.wronglyDeleted.push(e.name);
    else if (isProtected) failures.push(`${e.name} deleted between faults`);
  });

  const push = async () => {
    round++;
    commit = await commitFiles(rig.repo, fleet(round), { message: `round ${round}`, replace: true });
  };

  /** The cluster holds exactly the render of `round`, protected objects keep their uids. */
  const clusterState = async (): Promise<string | undefined> => {
    const live = await client.list('v1', 'ConfigMap', { namespace: NS });
    const managed = live.filter((c) => MANAGED.test(c.metadata.name));
    const names = managed.map((c) => c.metadata.name).sort();
    const want = desiredNames(round);
    if (names.join() !== want.join()) {
      const missing = want.filter((n) => !names.includes(n));
      const extra = names.filter((n) => !want.includes(n));
      return `objects differ from round ${round}: missing ${missing.slice(0, 5).join(',')} (${missing.length}), extra ${extra.length}`;
    }
    const stale = managed.filter((c) => (c.data as { round?: string })?.round !== String(round));
    if (stale.length) return `${stale.length} objects not at round ${round}`;
    for (const c of live) {
      const uid = protectedUids.get(c.metadata.name);
      if (uid && c.metadata.uid !== uid) return `${c.metadata.name} was deleted and re-created (uid changed)`;
    }
    for (const name of BYSTANDERS) {
      if (protectedUids.has(name) && !live.some((c) => c.metadata.name === name)) return `${name} is gone`;
    }
    return undefined;
  };

  const hubSeqs = (): Map<number, boolean> => {
    const db = new Database(rig.hub.db, { readonly: true, fileMustExist: true });
    try {
      const rows = db
        .prepare('SELECT seq, applied FROM reports WHERE cluster = ?')
        .all(opts.cluster.name) as { seq: number; applied: number }[];
      return new Map(rows.map((r) => [r.seq, r.applied === 1]));
    } finally {
      db.close();
    }
  };

  const checked = new Set<number>();
  /** Reports written up to the hub's newest that it does not hold, and ones it took out of order. */
  const reportAudit = (final: boolean): { lost: number[]; outOfOrder: number[] } => {
    const atHub = hubSeqs();
    const newest = Math.max(0, ...atHub.keys());
    const lost: number[] = [];
    const outOfOrder: number[] = [];
    for (const seq of rig.written) {
      if (checked.has(seq) || (!final && seq > newest)) continue;
      checked.add(seq);
      const applied = atHub.get(seq);
      if (applied === undefined) lost.push(seq);
      else if (!applied) outOfOrder.push(seq);
    }
    return { lost, outOfOrder };
  };

  /** Waits until the cluster and the hub both show `commit` synced; the reason when they never do. */
  const converge = async (timeoutMs: number): Promise<string | undefined> => {
    const deadline = Date.now() + timeoutMs;
    let why: string | undefined = 'not checked';
    while (Date.now() < deadline) {
      try {
        why = await clusterState();
        if (!why) {
          const latest = await rig.hub.latest();
          why =
            latest?.commit === commit && latest.phase === 'Synced'
              ? undefined
              : `hub shows ${latest?.commit?.slice(0, 8)} ${latest?.phase}, want ${commit.slice(0, 8)} Synced`;
        }
        if (!why) return undefined;
      } catch (err) {
        why = String((err as Error).message ?? err);
      }
      await sleep(250);
    }
    return why;
  };

  /** A reconcile is under way: the agent logged the new commit but not yet its end. */
  const midReconcile = (agent: LineProcess | undefined) =>
    Boolean(agent?.lines.some((l) => l.commit === commit)) &&
    !agent?.lines.some((l) => l.msg === 'Reconciled.' && l.commit === commit);

  const inject: Record<FaultKind, (f: Fault) => Promise<void>> = {
    async 'agent-kill'(f) {
      await push();
      await sleep(between(0, 1500));
      f.landed = midReconcile(rig.agent);
      await rig.stopAgent('SIGKILL');
      await sleep(between(0, 300));
      rig.startAgent();
    },
    async 'agent-kill-mid-prune'(f) {
      const old = round % 2 === 0 ? 'a-' : 'b-';
      const from = deletedNow.length;
      await push();
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && !deletedNow.slice(from).some((d) => d.name.startsWith(old)))
        await sleep(2);
      await rig.stopAgent('SIGKILL');
      const left = (await client.list('v1', 'ConfigMap', { namespace: NS })).filter((c) =>
        c.metadata.name.startsWith(old),
      );
      f.landed = left.length > 0 && left.length < ROTATING;
      rig.startAgent();
    },
    async 'apiserver-restart'() {
      await push();
      await sleep(between(0, 1500));
      await restartComponent(opts.labDir, opts.cluster.name, 'kube-apiserver', {
        kill: random() < 0.5,
        downMs: between(0, 2000),
      });
    },
    async 'agent-start-while-apiserver-down'(f) {
      // An agent (re)started while its apiserver is down, as a node reboot that brings the agent
      // up before the control plane: its first discovery fails, and it must recover once the
      // apiserver is back (no failure cached for the life of the process).
      await rig.stopAgent('SIGKILL');
      await push();
      await restartComponent(opts.labDir, opts.cluster.name, 'kube-apiserver', {
        kill: random() < 0.5,
        whileDown: async () => {
          const agent = rig.startAgent();
          // Landed: a reconcile of the new commit ran and failed against the missing apiserver.
          f.landed = await agent
            .line((l) => l.msg === 'Reconciled.' && l.commit === commit && l.phase !== 'Synced', 60_000)
            .then(
              () => true,
              () => false,
            );
          await sleep(between(0, 2000));
        },
      });
    },
    async 'etcd-pause'(f) {
      await push();
      await sleep(between(0, 1000));
      f.landed = midReconcile(rig.agent);
      signalComponent(opts.labDir, opts.cluster.name, 'etcd', 'SIGSTOP');
      try {
        await sleep(KUBE_TIMEOUT_MS + between(500, 2500));
      } finally {
        signalComponent(opts.labDir, opts.cluster.name, 'etcd', 'SIGCONT');
      }
    },
    async 'hub-restart'() {
      await push();
      await sleep(between(0, 1000));
      await rig.hub.kill('SIGKILL');
      await sleep(between(200, 1500));
      await rig.hub.start();
    },
    async 'git-kill-mid-fetch'(f) {
      const upload = random() < 0.7;
      const seen = rig.git.request(upload ? /^POST .*git-upload-pack/ : /^GET .*info\/refs/, 10_000);
      await push();
      f.landed = await seen.then(
        () => true,
        () => false,
      );
      await rig.git.kill();
      await sleep(between(200, 1200));
      await rig.git.start();
    },
    async 'state-full'() {
      rig.state.fill();
      try {
        await push();
        await sleep(between(1000, 2500));
      } finally {
        rig.state.free();
      }
    },
    async 'corrupt-outbox'(f) {
      // A graceful stop first (the outbox flushes to the hub), so the damage hits reports already
      // delivered: a file damaged at rest, not an undelivered report destroyed by the test itself.
      await rig.stopAgent('SIGTERM');
      const file = path.join(rig.stateDir, 'outbox.db');
      const size = (await stat(file)).size;
      const handle = await open(file, 'r+');
      try {
        if (random() < 0.5) await handle.truncate(Math.floor(size / 3));
        else await handle.write(randomBytes(4096), 0, 4096, 0);
      } finally {
        await handle.close();
      }
      f.landed = true;
      await push();
      rig.startAgent();
    },
    async 'corrupt-git-cache'(f) {
      await rig.stopAgent('SIGKILL');
      const files = await listFiles(path.join(rig.stateDir, 'sources'));
      const victims = files.filter((p) => /objects\/|refs\/|shallow|HEAD$/.test(p));
      const victim = victims[Math.floor(random() * victims.length)];
      if (victim) {
        const size = (await stat(victim)).size;
        const handle = await open(victim, 'r+');
        try {
          if (random() < 0.5) await handle.truncate(Math.floor(size / 2));
          else
            await handle.write(
              randomBytes(Math.min(64, Math.max(1, size))),
              0,
              Math.min(64, Math.max(1, size)),
              0,
            );
        } finally {
          await handle.close();
        }
        f.landed = true;
      }
      await push();
      rig.startAgent();
    },
    async 'clock-jump'(f) {
      const hours = between(1, 49) * (random() < 0.5 ? -1 : 1);
      rig.clock.set(hours * 3600);
      f.landed = true;
      try {
        await push();
        await sleep(between(1000, 2500));
      } finally {
        // Back to the true time: a second jump, the other way.
        rig.clock.set(0);
      }
      // The agent must keep its schedule after both jumps: a new commit, after the clock came back.
      await sleep(1100);
      await push();
    },
    async 'link-cut'(f) {
      const which = random();
      const links =
        which < 0.4 ? [rig.netns.wan] : which < 0.8 ? [rig.netns.lan] : [rig.netns.wan, rig.netns.lan];
      await push();
      await sleep(between(0, 800));
      f.landed = midReconcile(rig.agent);
      for (const l of links) rig.netns.cut(l);
      try {
        await sleep(between(1000, 3000));
      } finally {
        for (const l of links) rig.netns.heal(l);
      }
    },
  };

  try {
    await client.delete({ apiVersion: 'v1', kind: 'Namespace', name: NS });
    await rig.start();
    await push();
    rig.startAgent();
    const first = await converge(180_000);
    if (first) throw new Error(`the agent never synced the first commit: ${first}\n${rig.agent?.stderr()}`);
    for (const name of BYSTANDERS) {
      await client.apply(
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            name,
            namespace: NS,
            ...(name === 'bystander-labelled'
              ? { labels: { [PART_OF_LABEL]: applySetId({ name: 'strata-fleet', namespace: PARENT_NS }) } }
              : {}),
          },
          data: { owner: 'someone-else' },
        },
        { fieldManager: 'someone-else', force: true },
      );
    }
    for (const c of await client.list('v1', 'ConfigMap', { namespace: NS })) {
      if (c.metadata.name.startsWith('keep-') || BYSTANDERS.includes(c.metadata.name))
        protectedUids.set(c.metadata.name, String(c.metadata.uid ?? ''));
    }
    await watch.start();
    log(`fault campaign: seed ${opts.seed}, ${kinds.length} faults`);

    for (const [index, kind] of kinds.entries()) {
      const fault: Fault = { kind, index, landed: false, wronglyDeleted: [] };
      current = fault;
      const row = rows.get(kind) as KindRow;
      row.injected++;
      const t0 = Date.now();
      const exitsBefore = rig.selfExits.length;
      rig.mark(`fault ${index} ${kind} begins (round ${round})`);
      let why: string | undefined;
      try {
        await inject[kind](fault);
        why = await converge(convergeTimeout);
      } catch (err) {
        why = `the fault itself failed: ${(err as Error).stack ?? err}`;
      }
      // Deletions the watch delivers a moment late still belong to this fault.
      await sleep(100);
      current = undefined;
      const audit = reportAudit(false);
      if (fault.landed) row.landed++;
      if (!why) row.converged++;
      // An object every commit holds that is not in the cluster now is lost, converged or not.
      const live = new Set(
        (await client.list('v1', 'ConfigMap', { namespace: NS }).catch(() => [])).map((c) => c.metadata.name),
      );
      const missingKept = desiredNames(round).filter((n) => n.startsWith('keep-') && !live.has(n));
      row.lost += audit.lost.length + missingKept.length;
      row.outOfOrder += audit.outOfOrder.length;
      row.wronglyDeleted += fault.wronglyDeleted.length;
      const problems = [
        why && `did not converge: ${why}`,
        missingKept.length && `objects of every commit missing: ${missingKept.join(',')}`,
        audit.lost.length && `reports lost: ${audit.lost.join(',')}`,
        audit.outOfOrder.length && `reports out of order: ${audit.outOfOrder.join(',')}`,
        fault.wronglyDeleted.length && `wrongly deleted: ${fault.wronglyDeleted.join(',')}`,
        rig.selfExits.length > exitsBefore &&
          `the agent exited by itself: ${rig.selfExits.slice(exitsBefore).join(' | ').slice(0, 600)}`,
      ].filter(Boolean);
      if (problems.length) {
        const tail = (rig.agent?.lines ?? [])
          .filter((l) => (l.level as number) >= 40)
          .slice(-5)
          .map((l) => JSON.stringify(l).slice(0, 400));
        failures.push(
          `fault ${index} ${kind} (seed ${opts.seed}, round ${round}): ${problems.join('; ')}\n${tail.join('\n')}`,
        );
      }
      log(
        `fault ${String(index + 1).padStart(3)}/${kinds.length} ${kind.padEnd(20)} ${fault.landed ? 'landed' : '      '} ${((Date.now() - t0) / 1000).toFixed(1)}s ${problems.length ? `FAILED ${problems.join('; ')}` : 'ok'}`,
      );
    }

    // The end: a graceful stop flushes the outbox; every report written must now be at the hub.
    current = undefined;
    await rig.stopAgent('SIGTERM');
    const final = reportAudit(true);
    if (final.lost.length) failures.push(`reports never delivered at the end: ${final.lost.join(',')}`);
    if (final.outOfOrder.length)
      failures.push(`reports out of order at the end: ${final.outOfOrder.join(',')}`);
    if (rig.written.size === 0) failures.push('the agent logged no report at all');
    return {
      seed: opts.seed,
      rows: [...rows.values()],
      failures,
      reportsWritten: rig.written.size,
      reportsAtHub: hubSeqs().size,
      seconds: (Date.now() - began) / 1000,
    };
  } finally {
    watch.stop();
    await rig.stop();
    await client.delete({ apiVersion: 'v1', kind: 'Namespace', name: NS }).catch(() => {});
    await client.delete({ apiVersion: 'v1', kind: 'Namespace', name: PARENT_NS }).catch(() => {});
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  await walk(dir);
  return out.sort();
}

/** The per-kind table, as printed by the test and the benchmark. */
export function formatTable(result: CampaignResult): string {
  const head = ['fault kind', 'injected', 'landed', 'converged', 'lost', 'wrongly deleted', 'out of order'];
  const body = result.rows.map((r) => [
    r.kind,
    String(r.injected),
    String(r.landed),
    String(r.converged),
    String(r.lost),
    String(r.wronglyDeleted),
    String(r.outOfOrder),
  ]);
  const total = (k: keyof Omit<KindRow, 'kind'>) => String(result.rows.reduce((n, r) => n + r[k], 0));
  body.push([
    'total',
    total('injected'),
    total('landed'),
    total('converged'),
    total('lost'),
    total('wronglyDeleted'),
    total('outOfOrder'),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [
    `seed ${result.seed}: ${result.reportsWritten} reports written, ${result.reportsAtHub} at the hub, ${result.seconds.toFixed(0)} s`,
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
  ].join('\n');
}
