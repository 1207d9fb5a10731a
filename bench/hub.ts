/**
 * `npm run bench:hub`: how many reports per second one hub process ingests, and at what latency.
 *
 * Three processes: this orchestrator, the hub (`strata hub serve`, the real CLI, pinned to one core
 * with taskset when available) and a load generator (simulated clusters on loopback, pinned to the
 * other core). Each cluster posts its reports in seq order with keep-alive connections; a fixed
 * number of requests is in flight. For comparison the same load runs first against a bare node:http
 * server that only reads the body and answers 200: the ceiling any Node hub could reach here.
 *
 *   npm run bench:hub                      # 1,000 and 10,000 clusters
 *   npm run bench:hub -- --clusters 1000 --reports 20000 --concurrency 64 --rate 5000
 *
 * Per fleet size: the bare baseline and the hub in a closed loop (`concurrency` requests in flight:
 * the sustained maximum), then the bare server and the hub paced at `--rate` reports/s (default 80%
 * of that maximum), whose latency counts from each request's scheduled time: the paced bare row is
 * the latency floor of the load generator itself at that rate.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateToken } from '../hub/src/api/auth.js';
import { DEFAULT_RETENTION } from '../hub/src/hub.js';
import { openSqliteStore } from '../hub/src/store/sqlite.js';
import { postJson } from './lib/post-json.js';

const SELF = fileURLToPath(import.meta.url);
const ROOT = join(SELF, '..', '..');

/** Most requests a paced run keeps in flight (enough for 5,000/s at 100 ms). */
const PACED_IN_FLIGHT = 512;

interface LoadPlan {
  url: string;
  /** Requests per second for a paced (open-loop) run; absent: closed loop at `concurrency`. */
  rate?: number;
  clustersFile: string;
  reports: number;
  warmup: number;
  concurrency: number;
  objects: number;
}

interface LoadResult {
  reports: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
  failures: Record<string, number>;
}

const { values } = parseArgs({
  options: {
    role: { type: 'string', default: 'main' },
    plan: { type: 'string' },
    clusters: { type: 'string' },
    reports: { type: 'string' },
    concurrency: { type: 'string', default: '64' },
    objects: { type: 'string', default: '20' },
    synchronous: { type: 'string', default: 'full' },
    rate: { type: 'string' },
  },
});

async function main(): Promise<void> {
  const sizes = values.clusters ? [Number(values.clusters)] : [1000, 10_000];
  const concurrency = Number(values.concurrency);
  const objects = Number(values.objects);
  const pin = spawnSync('taskset', ['-V']).status === 0;
  console.log(
    `hub benchmark: ${concurrency} requests in flight, reports of 1 source with ${objects} objects,`,
  );
  console.log(
    `  synchronous=${values.synchronous}, ${pin ? 'hub pinned to CPU 0, load to CPU 1' : 'no taskset: unpinned'}`,
  );
  console.log(
    `  load average now: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}\n`,
  );
  console.log(
    'target                   clusters  reports   reports/s   p50 ms   p99 ms   max ms   hub CPU s   reports/CPU-s',
  );
  for (const clusters of sizes) {
    const reports = Number(values.reports ?? Math.max(20_000, clusters * 3));
    const dir = mkdtempSync(join(tmpdir(), 'strata-bench-hub-'));
    try {
      const clustersFile = join(dir, 'clusters.json');
      const db = join(dir, 'hub.db');
      await createTokens(db, clusters, clustersFile);
      const plan = { clustersFile, reports, warmup: Math.min(2000, reports / 10), concurrency, objects };
      const hubArgs = (copy: string) => {
        copyFileSync(db, copy);
        return [
          ...['agent/src/cli.ts', 'hub', 'serve', '--db', copy, '--listen', '127.0.0.1:0', '--public-read'],
          ...['--synchronous', values.synchronous!, '--stale-after', '3600'],
        ];
      };
      await measure('bare node:http', clusters, plan, pin, ['--role', 'bare']);
      const max = await measure('strata hub', clusters, plan, pin, hubArgs(join(dir, 'closed.db')));
      const rate = Number(values.rate ?? Math.max(100, Math.floor(max.perSecond * 0.8)));
      const paced = {
        ...plan,
        rate,
        reports: Math.min(reports, rate * 10),
        warmup: Math.min(plan.warmup, rate),
      };
      // The same paced load against the bare server: the latency this load generator and machine
      // show at that rate with no hub work at all (the floor for the paced hub row).
      await measure(`bare node:http @ ${rate}/s`, clusters, paced, pin, ['--role', 'bare']);
      await measure(`strata hub @ ${rate}/s`, clusters, paced, pin, hubArgs(join(dir, 'paced.db')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

async function createTokens(db: string, clusters: number, file: string): Promise<void> {
  // Setup only: NORMAL skips one fsync per token; the measured hub reopens the file with its own setting.
  const store = await openSqliteStore(db, { retention: DEFAULT_RETENTION, synchronous: 'normal' });
  const list: { cluster: string; token: string }[] = [];
  for (let i = 0; i < clusters; i++) {
    const cluster = `bench-${String(i).padStart(5, '0')}`;
    const created = generateToken(cluster, new Date());
    await store.createToken(created.record);
    list.push({ cluster, token: created.token });
  }
  await store.close();
  writeFileSync(file, JSON.stringify(list));
}

async function measure(
  name: string,
  clusters: number,
  plan: Omit<LoadPlan, 'url'>,
  pin: boolean,
  serverArgs: string[],
): Promise<LoadResult> {
  const server = start(pin ? ['taskset', '-c', '0'] : [], ['--import', 'tsx', ...argsFor(serverArgs)]);
  try {
    const url = await listening(server);
    const cpuBefore = cpuSeconds(server.pid!);
    const load = start(pin ? ['taskset', '-c', '1'] : [], [
      '--import',
      'tsx',
      SELF,
      '--role',
      'load',
      '--plan',
      JSON.stringify({ ...plan, url }),
    ]);
    const result = JSON.parse(await output(load)) as LoadResult & { cpuStart: number };
    const cpu = cpuSeconds(server.pid!) - cpuBefore;
    const failures = Object.entries(result.failures).map(([k, v]) => `${k}:${v}`);
    console.log(
      [
        name.padEnd(24),
        String(clusters).padStart(8),
        String(result.reports).padStart(8),
        result.perSecond.toFixed(0).padStart(11),
        result.p50.toFixed(2).padStart(8),
        result.p99.toFixed(2).padStart(8),
        result.max.toFixed(1).padStart(8),
        cpu.toFixed(1).padStart(11),
        (result.reports / cpu).toFixed(0).padStart(15),
        failures.length ? `  FAILURES ${failures.join(' ')}` : '',
      ].join(' '),
    );
    return result;
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
}

function argsFor(serverArgs: string[]): string[] {
  return serverArgs[0] === '--role' ? [SELF, ...serverArgs] : serverArgs;
}

function start(prefix: string[], nodeArgs: string[]): ChildProcess {
  const [cmd, ...args] = [...prefix, process.execPath, ...nodeArgs];
  return spawn(cmd!, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
}

function listening(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /"url":"(http:[^"]+)"/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${out}`)));
  });
}

function output(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`load generator exited ${code}`)),
    );
  });
}

/** user+system CPU seconds of a process (and its threads), from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function bareRole(): void {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"result":"stored"}');
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address() as { port: number };
    console.log(JSON.stringify({ url: `http://127.0.0.1:${address.port}` }));
  });
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
}

/** The simulated fleet: cluster i sends seq 1, 2, 3, ... in order; `concurrency` requests in flight. */
async function loadRole(plan: LoadPlan): Promise<void> {
  const fleet = JSON.parse(readFileSync(plan.clustersFile, 'utf8')) as { cluster: string; token: string }[];
  const target = new URL(plan.url);
  if (plan.rate) plan.concurrency = PACED_IN_FLIGHT;
  const agent = new Agent({ keepAlive: true, maxSockets: plan.concurrency });
  const seqs = new Array<number>(fleet.length).fill(0);
  const busy = new Array<boolean>(fleet.length).fill(false);
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let next = 0;
  let sent = 0;
  let measuredStart = 0;
  const total = plan.warmup + plan.reports;
  const report = reportTemplate(plan.objects);

  const pick = (): number => {
    for (;;) {
      const i = next++ % fleet.length;
      if (!busy[i]) return i;
    }
  };
  const begin = performance.now();
  const worker = async () => {
    while (sent < total) {
      const n = sent++;
      // Paced: request n is due at a fixed time and its latency counts from then, so a slow hub
      // cannot hide queueing by slowing the sender down (no coordinated omission).
      const due = plan.rate ? begin + (n * 1000) / plan.rate : performance.now();
      if (plan.rate && due > performance.now())
        await new Promise((r) => setTimeout(r, due - performance.now()));
      if (n === plan.warmup) measuredStart = due;
      const i = pick();
      busy[i] = true;
      const body = report(fleet[i]!.cluster, ++seqs[i]!);
      const t0 = due;
      const status = await postJson(agent, `${target.origin}/api/v1/reports`, fleet[i]!.token, body);
      if (n >= plan.warmup) latencies.push(performance.now() - t0);
      if (status !== 200) failures[status] = (failures[status] ?? 0) + 1;
      busy[i] = false;
    }
  };
  await Promise.all(Array.from({ length: plan.concurrency }, worker));
  const seconds = (performance.now() - measuredStart) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  const result: LoadResult = {
    reports: latencies.length,
    seconds,
    perSecond: latencies.length / seconds,
    p50: at(0.5),
    p99: at(0.99),
    max: latencies[latencies.length - 1]!,
    failures,
  };
  agent.destroy();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/**
 * A report of `objects` healthy objects, serialised once and reused with the cluster and seq spliced
 * in, so the load generator spends its CPU on sending, not on building JSON.
 */
function reportTemplate(objects: number): (cluster: string, seq: number) => string {
  const now = new Date().toISOString();
  const commit = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
  const json = JSON.stringify({
    cluster: '@CLUSTER@',
    labels: { env: 'prod', region: 'region-1' },
    seq: 0,
    createdAt: now,
    agent: { version: '0.1.0', startedAt: now },
    sources: [
      {
        url: 'https://git.example.com/fleet.git',
        ref: 'main',
        commit,
        fetchedAt: now,
        reachable: true,
        error: null,
        sync: {
          phase: 'Synced',
          commit,
          finishedAt: now,
          created: 0,
          updated: 1,
          pruned: 0,
          unchanged: objects - 1,
          conflicts: [],
          errors: [],
        },
        health: {
          status: 'Healthy',
          objects: Array.from({ length: objects }, (_, i) => ({
            id: `apps/Deployment/shop/web-${i}`,
            status: 'Current',
            message: '',
          })),
        },
        drift: [],
      },
    ],
  });
  const [head, rest] = json.split('@CLUSTER@') as [string, string];
  const [middle, tail] = rest.split('"seq":0') as [string, string];
  return (cluster, seq) => `${head}${cluster}${middle}"seq":${seq}${tail}`;
}

if (values.role === 'load') await loadRole(JSON.parse(values.plan!) as LoadPlan);
else if (values.role === 'bare') bareRole();
else await main();
