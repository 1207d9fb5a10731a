/**
 * `npm run bench:fleet`: the hub's views and ingest at fleet scale, on both stores.
 *
 * Per store (SQLite, then PostgreSQL on a private server with fsync on): bulk-load `--clusters`
 * registered clusters (default 1,000,000; labels from a few regions, envs and tiers, phases mostly
 * Synced), start the real hub (`node dist/bundle/strata.js hub serve`, what the image runs) and time
 * its views one request at a time: the fleet page, a selector matching 1 %, one cluster's page, a
 * commit's rollout, the first and a deep page of the cluster list; then its resident memory. Then
 * ingest: `--ingest-clusters` (default 100,000) of those clusters reporting every 30 s
 * (`--rate` = clusters / 30 reports/s, paced, latency from each report's scheduled time) for
 * `--seconds`, `--full-share` of them (default 0.1) full reports and the rest heartbeats naming each
 * cluster's last full report (an agent sends a heartbeat when only time moved): one hub on SQLite (pinned to CPU 0), two replicas on PostgreSQL (CPU 0 and CPU 1),
 * the load generator in its own process. Runs under `nice`, bounded in time; prints the figures
 * beside the targets.
 *
 *   npm run bench:fleet
 *   npm run bench:fleet -- --clusters 100000 --ingest-clusters 20000 --seconds 10 --stores sqlite
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, createServer } from 'node:http';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { Report } from '../contract/report.js';
import { parseSelector } from '../contract/selector.js';
import { rolloutStates } from '../hub/src/fleet/rollout.js';
import { summariseReport } from '../hub/src/fleet/summary.js';
import { DEFAULT_RETENTION } from '../hub/src/hub.js';
import { openStore } from '../hub/src/store/open.js';
import { startPostgres } from '../test/support/postgres.js';
import { postJson } from './lib/post-json.js';

const SELF = fileURLToPath(import.meta.url);
const ROOT = join(SELF, '..', '..');
const WORK = join(ROOT, 'bench', '.work', 'fleet');
const BUNDLE = join(ROOT, 'dist', 'bundle', 'strata.js');

const { values } = parseArgs({
  options: {
    role: { type: 'string', default: 'main' },
    plan: { type: 'string' },
    clusters: { type: 'string', default: '1000000' },
    'ingest-clusters': { type: 'string', default: '100000' },
    rate: { type: 'string' },
    seconds: { type: 'string', default: '20' },
    samples: { type: 'string', default: '40' },
    stores: { type: 'string', default: 'sqlite,postgres' },
    'full-share': { type: 'string', default: '0.1' },
  },
});

const COMMITS = [
  'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
  'b2c3d4e5f60718293a4b5c6d7e8f901234567890',
  'c3d4e5f60718293a4b5c6d7e8f90123456789012',
];
const REGIONS = ['eu-west', 'eu-central', 'us-east', 'us-west', 'ap-south', 'cn-hangzhou'];

/** Cluster i's name and labels: regions skewed, 70 % prod, 1 % canary tier (the 1 % selector). */
function clusterOf(i: number): { name: string; labels: Record<string, string> } {
  const h = (i * 2654435761) >>> 0;
  const labels: Record<string, string> = {
    region: REGIONS[Math.min(REGIONS.length - 1, Math.floor(((h % 1000) / 1000) ** 1.6 * REGIONS.length))]!,
    env: h % 10 < 7 ? 'prod' : h % 10 < 9 ? 'staging' : 'dev',
    tier: i % 100 === 42 ? 'canary' : (h >>> 8) % 10 === 0 ? 'edge' : 'standard',
  };
  return { name: `c-${String(i).padStart(7, '0')}`, labels };
}

type Phase = 'Synced' | 'Progressing' | 'OutOfSync' | 'Failed' | 'Degraded';
/** 95 % Synced; 90 % on the newest commit. */
function stateOf(i: number): { phase: Phase; commit: string } {
  const r = (i * 40503) % 100;
  const phase: Phase =
    r < 95 ? 'Synced' : r < 97 ? 'Progressing' : r < 98 ? 'OutOfSync' : r < 99 ? 'Failed' : 'Degraded';
  const c = (i * 7919) % 100;
  return { phase, commit: COMMITS[c < 90 ? 0 : c < 98 ? 1 : 2]! };
}

/** A real report of one source with two objects, as an agent sends it. */
function reportOf(i: number, seq: number, at: string): Report {
  const { name, labels } = clusterOf(i);
  const { phase, commit } = stateOf(i);
  const health =
    phase === 'Synced' ? 'Healthy' : phase === 'Degraded' || phase === 'Failed' ? 'Degraded' : 'Progressing';
  return Report.parse({
    cluster: name,
    labels,
    seq,
    createdAt: at,
    agent: { version: '0.1.0', startedAt: at },
    sources: [
      {
        url: 'https://git.example.com/platform/fleet.git',
        ref: 'main',
        commit,
        fetchedAt: at,
        reachable: true,
        error: null,
        sync: {
          phase,
          commit,
          finishedAt: at,
          created: 0,
          updated: 0,
          pruned: 0,
          unchanged: 2,
          conflicts: [],
          errors: phase === 'Failed' ? [{ message: 'apply failed', object: 'apps/Deployment/shop/web' }] : [],
        },
        health: {
          status: health,
          objects: [
            { id: 'apps/Deployment/shop/web', status: 'Current', message: '' },
            { id: '/Service/shop/web', status: 'Current', message: '' },
          ],
        },
        drift: [],
      },
    ],
    previews: [],
  });
}

/** Cluster i's token: deterministic, so the load generator can rebuild it. */
function tokenOf(i: number): { id: string; secret: string; hash: string } {
  const id = i.toString(16).padStart(16, '0');
  const secret = createHash('sha256').update(`bench-${i}`).digest('base64url').slice(0, 43);
  return { id, secret, hash: createHash('sha256').update(secret).digest('hex') };
}

interface SeedRow {
  name: string;
  labels: string;
  seq: number;
  receivedAt: number;
  summary: string;
  report: string;
  phase: string;
  health: string;
  commit: string;
  rollout: string;
}

/** Reports differ only by name and seq within one combination of labels and state: built once each. */
const shapes = new Map<
  string,
  { report: [string, string]; summary: string; phase: string; health: string; rollout: string }
>();

/** Clusters fresh within 30 s, except 0.5 % silent for an hour (stale). */
function seedRow(i: number, now: number, at: string): SeedRow {
  const { name, labels } = clusterOf(i);
  const { phase, commit } = stateOf(i);
  const key = `${JSON.stringify(labels)}|${phase}|${commit}`;
  let shape = shapes.get(key);
  if (!shape) {
    const report = reportOf(i, 1, at);
    const summary = summariseReport(report);
    const [head, tail] = JSON.stringify(report).split(JSON.stringify(name)) as [string, string];
    shape = {
      report: [head, tail],
      summary: JSON.stringify(summary),
      phase: summary.phase,
      health: summary.health,
      rollout: JSON.stringify(rolloutStates(summary)),
    };
    shapes.set(key, shape);
  }
  return {
    name,
    labels: JSON.stringify(labels),
    seq: 1,
    receivedAt: i % 200 === 7 ? now - 3600_000 : now - (i % 30_000),
    summary: shape.summary,
    report: `${shape.report[0]}${JSON.stringify(name)}${shape.report[1]}`,
    phase: shape.phase,
    health: shape.health,
    commit,
    rollout: shape.rollout,
  };
}

async function seedSqlite(file: string, clusters: number, tokens: number): Promise<void> {
  await (await openStore(file, { retention: DEFAULT_RETENTION })).close();
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const insert = db.prepare(
    `INSERT INTO clusters (name, labels, seq, received_at, summary, report, phase, health, commit_sha, rollout)
     VALUES (@name, @labels, @seq, @receivedAt, @summary, @report, @phase, @health, @commit, @rollout)`,
  );
  const token = db.prepare('INSERT INTO tokens (id, cluster, hash, created_at) VALUES (?, ?, ?, ?)');
  const now = Date.now();
  const at = new Date(now).toISOString();
  // One transaction of prepared inserts. The schema's triggers are set aside meanwhile (SQLite cannot
  // disable them) and the tables they keep are filled in one statement each, as the migration does.
  const triggers = db
    .prepare<[], { name: string; sql: string }>("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
    .all();
  db.transaction(() => {
    for (const t of triggers) db.exec(`DROP TRIGGER ${t.name}`);
    for (let i = 0; i < clusters; i++) {
      insert.run(seedRow(i, now, at));
      if (i < tokens) token.run(tokenOf(i).id, clusterOf(i).name, tokenOf(i).hash, at);
    }
    db.exec(`
      INSERT INTO cluster_labels (key, value, cluster) SELECT j.key, j.value, c.name FROM clusters c, json_each(c.labels) j;
      INSERT INTO label_counts (key, value, phase, health, commit_sha, reported, n)
        SELECT l.key, l.value, c.phase, c.health, coalesce(c.commit_sha, ''), c.seq IS NOT NULL, count(*)
        FROM cluster_labels l JOIN clusters c ON c.name = l.cluster GROUP BY 1, 2, 3, 4, 5, 6;
      INSERT INTO cluster_commits (commit_sha, cluster, state)
        SELECT json_extract(e.value, '$[0]'), c.name, json_extract(e.value, '$[1]') FROM clusters c, json_each(c.rollout) e;
      INSERT INTO fleet_counts (phase, health, commit_sha, reported, n)
        SELECT phase, health, coalesce(commit_sha, ''), seq IS NOT NULL, count(*) FROM clusters GROUP BY 1, 2, 3, 4;
      INSERT INTO rollout_counts (commit_sha, state, n) SELECT commit_sha, state, count(*) FROM cluster_commits GROUP BY 1, 2;`);
    for (const t of triggers) db.exec(t.sql);
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.exec('ANALYZE');
  db.close();
}

async function seedPostgres(url: string, clusters: number, tokens: number): Promise<void> {
  await (await openStore(url, { retention: DEFAULT_RETENTION })).close();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const now = Date.now();
  const at = new Date(now).toISOString();
  const text = (v: string | number) =>
    String(v).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n');
  try {
    await client.query('BEGIN');
    // COPY bypasses nothing but triggers (off for this session): the derived tables are then filled
    // in one statement each, as the schema migration does for existing rows.
    await client.query('SET LOCAL session_replication_role = replica');
    const copy = client.query(
      copyFrom(
        'COPY clusters (name, labels, seq, received_at, summary, report, phase, health, commit_sha, rollout) FROM STDIN',
      ),
    );
    await pipeline(function* () {
      for (let i = 0; i < clusters; i++) {
        const r = seedRow(i, now, at);
        yield `${[r.name, r.labels, r.seq, r.receivedAt, r.summary, r.report, r.phase, r.health, r.commit, r.rollout].map(text).join('\t')}\n`;
      }
    }, copy);
    const tokenCopy = client.query(copyFrom('COPY tokens (id, cluster, hash, created_at) FROM STDIN'));
    await pipeline(function* () {
      for (let i = 0; i < tokens; i++)
        yield `${tokenOf(i).id}\t${clusterOf(i).name}\t${tokenOf(i).hash}\t${at}\n`;
    }, tokenCopy);
    await client.query(
      'INSERT INTO cluster_labels (key, value, cluster) SELECT j.key, j.value, c.name FROM clusters c, json_each_text(c.labels::json) j',
    );
    await client.query(
      `INSERT INTO label_counts (key, value, phase, health, commit_sha, reported, n)
       SELECT l.key, l.value, c.phase, c.health, coalesce(c.commit_sha, ''), c.seq IS NOT NULL, count(*)
       FROM cluster_labels l JOIN clusters c ON c.name = l.cluster GROUP BY 1, 2, 3, 4, 5, 6`,
    );
    await client.query(
      `INSERT INTO cluster_commits (commit_sha, cluster, state)
       SELECT e->>0, c.name, e->>1 FROM clusters c, json_array_elements(c.rollout::json) e`,
    );
    await client.query(
      `INSERT INTO fleet_counts (phase, health, commit_sha, reported, n)
       SELECT phase, health, coalesce(commit_sha, ''), seq IS NOT NULL, count(*) FROM clusters GROUP BY 1, 2, 3, 4`,
    );
    await client.query(
      'INSERT INTO rollout_counts (commit_sha, state, n) SELECT commit_sha, state, count(*) FROM cluster_commits GROUP BY 1, 2',
    );
    await client.query('COMMIT');
    await client.query('VACUUM ANALYZE');
  } finally {
    await client.end();
  }
}

interface Hub {
  proc: ChildProcess;
  url: string;
}

function startHub(db: string, cpu: number | null, extra: string[] = []): Promise<Hub> {
  const args = [
    BUNDLE,
    'hub',
    'serve',
    '--db',
    db,
    '--listen',
    '127.0.0.1:0',
    // The views are timed as an open hub answers them (the read-token check costs one SHA-256).
    '--public-read',
    '--keep-reports',
    '20',
    ...extra,
  ];
  return startListening('hub', cpu, args);
}

/** Runs node with `args` (pinned to `cpu` when given) until it prints the URL it listens on. */
function startListening(what: string, cpu: number | null, args: string[]): Promise<Hub> {
  const [cmd, ...rest] =
    cpu === null ? [process.execPath, ...args] : ['taskset', '-c', String(cpu), process.execPath, ...args];
  const proc = spawn(cmd!, rest, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /"url":"(http:[^"]+)"/.exec(out);
      if (m) resolve({ proc, url: m[1]! });
    });
    proc.once('exit', (code) =>
      reject(new Error(`${what} exited (${code}) before listening: ${out.slice(-2000)}`)),
    );
  });
}

async function stopHub(hub: Hub): Promise<void> {
  if (hub.proc.exitCode !== null) return;
  hub.proc.kill('SIGTERM');
  await new Promise((r) => hub.proc.once('exit', r));
}

function rssMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function timeView(url: string, samples: number): Promise<{ p50: number; p99: number; bytes: number }> {
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < samples + 3; i++) {
    const t0 = performance.now();
    const res = await fetch(url);
    const body = await res.text();
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${body.slice(0, 300)}`);
    if (i >= 3) times.push(performance.now() - t0);
    bytes = body.length;
  }
  times.sort((a, b) => a - b);
  return { p50: quantile(times, 0.5), p99: quantile(times, 0.99), bytes };
}

interface Row {
  store: string;
  what: string;
  measured: string;
  target: string;
  ok: boolean;
}

/** The load is what the views will be asked about: every cluster counted, the canary tier exactly 1 %. */
async function checkSeed(db: string, clusters: number): Promise<void> {
  const store = await openStore(db, { retention: DEFAULT_RETENTION });
  try {
    const all = await store.countFleet({ selector: [] }, 0);
    const canary = await store.countFleet({ selector: parseSelector('tier=canary') }, 0);
    const expected = Math.floor((clusters - 43) / 100) + 1;
    if (all.total !== clusters || canary.total !== expected) {
      throw new Error(
        `seeded ${all.total} clusters (${canary.total} canary): expected ${clusters} (${expected})`,
      );
    }
  } finally {
    await store.close();
  }
}

async function measureViews(store: string, db: string, clusters: number, rows: Row[]): Promise<void> {
  await checkSeed(db, clusters);
  const hub = await startHub(db, null);
  try {
    const samples = Number(values.samples);
    const deep = Buffer.from(JSON.stringify(['clusters', clusterOf(clusters - 200).name])).toString(
      'base64url',
    );
    const views: [string, string][] = [
      ['fleet page /', '/'],
      ['selector tier=canary (1 %)', '/api/v1/clusters?selector=tier%3Dcanary&limit=100'],
      ['one cluster page', `/clusters/${clusterOf(Math.floor(clusters / 2)).name}`],
      ['commit rollout', `/commits/${COMMITS[0]}`],
      ['cluster list, first page', '/api/v1/clusters?limit=100'],
      ['cluster list, deep page', `/api/v1/clusters?limit=100&continue=${deep}`],
    ];
    for (const [what, path] of views) {
      const t = await timeView(`${hub.url}${path}`, samples);
      rows.push({
        store,
        what: `${what} p50 / p99`,
        measured: `${t.p50.toFixed(1)} / ${t.p99.toFixed(1)} ms`,
        target: 'p99 < 200 ms',
        ok: t.p99 < 200,
      });
    }
    const { rss, peak } = rssMb(hub.proc.pid!);
    rows.push({
      store,
      what: `hub RSS after the views (peak)`,
      measured: `${rss.toFixed(0)} MB (${peak.toFixed(0)} MB)`,
      target: '< 150 MB',
      ok: peak < 150,
    });
  } finally {
    await stopHub(hub);
  }
}

interface LoadPlan {
  urls: string[];
  rate: number;
  seconds: number;
  clusters: number;
  /** The share of reports sent in full; the others are heartbeats. */
  fullShare: number;
}

interface LoadResult {
  sent: number;
  perSecond: number;
  p50: number;
  p99: number;
  failures: Record<string, number>;
}

/** A node:http server that only reads the body: the same load against it is the floor of this machine. */
function bareRole(): void {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":"stored"}'),
    );
  });
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as { port: number };
    console.log(JSON.stringify({ url: `http://127.0.0.1:${port}` }));
  });
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
}

function startBare(cpu: number | null): Promise<Hub> {
  return startListening('bare server', cpu, ['--import', 'tsx', SELF, '--role', 'bare']);
}

async function measureIngest(store: string, hubs: Hub[], clusters: number, rows: Row[]): Promise<void> {
  const rate = Number(values.rate ?? Math.round(clusters / 30));
  const fullShare = Number(values['full-share']);
  const bare = await startBare(0);
  try {
    const floor = await runLoad({
      urls: [bare.url],
      rate,
      seconds: Number(values.seconds),
      clusters,
      fullShare,
    });
    rows.push({
      store,
      what: "same load against a bare node:http server (this machine's floor): reports/s, p50 / p99",
      measured: `${floor.perSecond.toFixed(0)}, ${floor.p50.toFixed(1)} / ${floor.p99.toFixed(1)} ms`,
      target: '',
      ok: true,
    });
  } finally {
    await stopHub(bare);
  }
  const result = await runLoad({
    urls: hubs.map((h) => h.url),
    rate,
    seconds: Number(values.seconds),
    clusters,
    fullShare,
  });
  const failed = Object.values(result.failures).reduce((a, b) => a + b, 0);
  const replicas = hubs.length === 1 ? 'one hub' : `${hubs.length} replicas`;
  rows.push({
    store,
    what: `ingest, ${replicas}, ${clusters.toLocaleString('en')} clusters, ${Math.round(fullShare * 100)} % full reports, the rest heartbeats: reports/s`,
    measured: `${result.perSecond.toFixed(0)}${failed ? ` (${failed} failed: ${JSON.stringify(result.failures)})` : ''}`,
    target: `>= ${rate}`,
    ok: result.perSecond >= rate * 0.98 && failed === 0,
  });
  rows.push({
    store,
    what: 'ingest latency p50 / p99',
    measured: `${result.p50.toFixed(1)} / ${result.p99.toFixed(1)} ms`,
    target: 'p99 < 100 ms',
    ok: result.p99 < 100,
  });
}

async function runLoad(plan: LoadPlan): Promise<LoadResult> {
  const pin = spawnSync('taskset', ['-V']).status === 0;
  const prefix = pin ? ['taskset', '-c', '1'] : [];
  const [cmd, ...args] = [
    ...prefix,
    process.execPath,
    '--import',
    'tsx',
    SELF,
    '--role',
    'load',
    '--plan',
    JSON.stringify(plan),
  ];
  const load = spawn(cmd!, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  load.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise((r) => load.once('exit', r));
  if (code !== 0) throw new Error(`load generator exited ${code}`);
  return JSON.parse(out) as LoadResult;
}

/** Paced load: report n is due at start + n / rate; its latency counts from then (no coordinated omission). */
async function loadRole(plan: LoadPlan): Promise<void> {
  const agents = plan.urls.map(() => new Agent({ keepAlive: true, maxSockets: 256 }));
  const at = new Date().toISOString();
  const bodies = new Map<number, (seq: number) => string>();
  const template = (i: number) => {
    let make = bodies.get(i);
    if (!make) {
      const [head, tail] = JSON.stringify(reportOf(i, 0, at)).split('"seq":0') as [string, string];
      make = (seq) => `${head}"seq":${seq}${tail}`;
      if (bodies.size < 20_000) bodies.set(i, make);
    }
    return make;
  };
  const seqs = new Map<number, number>();
  // The seeded state is each cluster's full report 1; a heartbeat names the last full one sent.
  const lastFull = new Map<number, number>();
  const total = Math.round(plan.rate * plan.seconds);
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  const begin = performance.now() + 200;
  let inFlight = 0;
  const done: Promise<void>[] = [];
  for (let n = 0; n < total; n++) {
    const due = begin + (n * 1000) / plan.rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const i = (n * 7) % plan.clusters;
    const seq = (seqs.get(i) ?? 1) + 1;
    seqs.set(i, seq);
    const t = tokenOf(i);
    const target = n % plan.urls.length;
    // Spread evenly and deterministically: every (1 / fullShare)-th report of the run is full.
    const full = Math.floor((n + 1) * plan.fullShare) > Math.floor(n * plan.fullShare);
    const body = full
      ? template(i)(seq)
      : JSON.stringify({ cluster: clusterOf(i).name, seq, of: lastFull.get(i) ?? 1 });
    if (full) lastFull.set(i, seq);
    inFlight++;
    done.push(
      postJson(
        agents[target]!,
        `${plan.urls[target]!}${full ? REPORTS : HEARTBEATS}`,
        `strata_${t.id}_${t.secret}`,
        body,
      ).then((status) => {
        inFlight--;
        latencies.push(performance.now() - due);
        if (status !== 200) failures[status] = (failures[status] ?? 0) + 1;
      }),
    );
    if (inFlight > 2000) await done.at(-1);
  }
  await Promise.all(done);
  const seconds = (performance.now() - begin) / 1000;
  latencies.sort((a, b) => a - b);
  for (const a of agents) a.destroy();
  const result: LoadResult = {
    sent: total,
    perSecond: total / seconds,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    failures,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

const REPORTS = '/api/v1/reports';
const HEARTBEATS = '/api/v1/heartbeats';

async function main(): Promise<void> {
  setPriority(10);
  const clusters = Number(values.clusters);
  const ingestClusters = Math.min(clusters, Number(values['ingest-clusters']));
  const stores = values.stores!.split(',');
  if (!existsSync(BUNDLE)) execFileSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(
    `fleet benchmark: ${clusters.toLocaleString('en')} clusters, ingest over ${ingestClusters.toLocaleString('en')}`,
  );
  console.log(`  load average at start: ${load()}`);
  const rows: Row[] = [];
  const started = Date.now();
  for (const store of stores) {
    const t0 = Date.now();
    if (store === 'sqlite') {
      const file = join(WORK, 'hub.db');
      await seedSqlite(file, clusters, ingestClusters);
      rows.push({
        store,
        what: 'bulk load (one transaction of prepared inserts)',
        measured: `${((Date.now() - t0) / 1000).toFixed(0)} s`,
        target: '',
        ok: true,
      });
      await measureViews(store, file, clusters, rows);
      const hub = await startHub(file, 0);
      try {
        await measureIngest(store, [hub], ingestClusters, rows);
        const { peak } = rssMb(hub.proc.pid!);
        rows.push({
          store,
          what: 'hub RSS peak during ingest',
          measured: `${peak.toFixed(0)} MB`,
          target: '< 150 MB',
          ok: peak < 150,
        });
      } finally {
        await stopHub(hub);
      }
      rmSync(file, { force: true });
    } else if (store === 'postgres') {
      const server = await startPostgres({
        dir: join(WORK, 'pg'),
        settings: {
          fsync: 'on',
          synchronous_commit: 'on',
          full_page_writes: 'on',
          shared_buffers: '512MB',
          max_wal_size: '4GB',
        },
      });
      try {
        const url = await server.createDatabase('hub');
        await seedPostgres(url, clusters, ingestClusters);
        rows.push({
          store,
          what: 'bulk load (COPY, then derived tables)',
          measured: `${((Date.now() - t0) / 1000).toFixed(0)} s`,
          target: '',
          ok: true,
        });
        await measureViews(store, url, clusters, rows);
        const hubs = [await startHub(url, 0), await startHub(url, 1)];
        try {
          await measureIngest(store, hubs, ingestClusters, rows);
          const peak = Math.max(...hubs.map((h) => rssMb(h.proc.pid!).peak));
          rows.push({
            store,
            what: 'replica RSS peak during ingest',
            measured: `${peak.toFixed(0)} MB`,
            target: '< 150 MB',
            ok: peak < 150,
          });
        } finally {
          for (const h of hubs) await stopHub(h);
        }
      } finally {
        await server.stop();
        rmSync(join(WORK, 'pg'), { recursive: true, force: true });
      }
    } else {
      throw new Error(`--stores: unknown store "${store}" (sqlite, postgres)`);
    }
  }
  console.log(`  load average at end: ${load()}; ${((Date.now() - started) / 1000).toFixed(0)} s in all\n`);
  console.log('| store | what | measured | target | |');
  console.log('| --- | --- | ---: | --- | --- |');
  for (const r of rows)
    console.log(
      `| ${r.store} | ${r.what} | ${r.measured} | ${r.target} | ${r.target ? (r.ok ? 'met' : 'MISSED') : ''} |`,
    );
  writeFileSync(join(WORK, 'result.json'), JSON.stringify(rows, null, 2));
}

if (values.role === 'load') await loadRole(JSON.parse(values.plan!) as LoadPlan);
else if (values.role === 'bare') bareRole();
else await main();
