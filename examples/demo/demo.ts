/**
 * `npm run demo`: a whole Strata fleet on this machine. Three real local Kubernetes clusters from
 * the lab (prod-hz, prod-sh, edge-1), a Git server holding examples/fleet, a hub with one token per
 * cluster, and three `strata agent` processes. Prints the dashboard URL and commands to try;
 * Ctrl-C (SIGINT or SIGTERM) stops everything it started. See options.ts for the flags.
 *
 * package.json runs it as `node --import tsx`, not through the tsx CLI: on Ctrl-C the tsx CLI
 * SIGKILLs a child that does not acknowledge the signal within 30 ms (easily missed on a loaded
 * machine), which would cut the clean-up short and leave the clusters running.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { generateToken } from '../../hub/src/api/auth.js';
import { type RunningHub, startHub } from '../../hub/src/hub.js';
import { labDown, labUp } from '../../test/cluster/lab-api.js';
import { type DemoAgent, startDemoAgent } from './agents.js';
import {
  type ControlAction,
  type ControlServer,
  removeDemoState,
  runningDemo,
  sendControl,
  startControl,
  writeDemoState,
} from './control.js';
import { clusterIdentities, FLEET_FOLDER, type FleetRepo, startFleetRepo } from './fleet.js';
import { watchFleet } from './fleet-watch.js';
import { formatGuide } from './guide.js';
import { DEMO_CLUSTERS, DEMO_USAGE, type DemoOptions, parseDemoArgs, UsageError } from './options.js';
import { createProgress, type Progress } from './progress.js';
import { demoTools } from './tools.js';

const BUILD_SCRIPT = fileURLToPath(new URL('../../test/cluster/build.sh', import.meta.url));

async function main(argv: string[]): Promise<number> {
  let command: ReturnType<typeof parseDemoArgs>;
  try {
    command = parseDemoArgs(argv);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`demo: ${(err as Error).message}\n\n${DEMO_USAGE}\n`);
      return 2;
    }
    throw err;
  }
  if (command.kind === 'help') {
    process.stdout.write(`${DEMO_USAGE}\n`);
    return 0;
  }
  if (command.kind === 'git') {
    process.stdout.write(`${await sendControl(path.resolve(command.dir), `git ${command.action}`)}\n`);
    return 0;
  }
  return runDemo(command.options);
}

/** Everything the demo started, stopped in reverse order by `cleanUp`. */
interface Started {
  lab: boolean;
  fleet?: FleetRepo;
  hub?: RunningHub;
  agents: DemoAgent[];
  control?: ControlServer;
}

async function runDemo(options: DemoOptions): Promise<number> {
  const dir = path.resolve(options.dir);
  const progress = createProgress((text) => process.stdout.write(text));
  const other = runningDemo(dir);
  if (other) {
    process.stderr.write(
      `demo: a demo (pid ${other.pid}) already runs under ${options.dir}; stop it first\n`,
    );
    return 1;
  }
  const stop = new AbortController();
  onSignals(stop, progress);
  const started: Started = { lab: false, agents: [] };
  let code = 1;
  try {
    code = await bringUp(options, dir, progress, stop.signal, started);
  } catch (err) {
    if (!stop.signal.aborted) progress.step(`Failed: ${(err as Error).message}`);
    code = stop.signal.aborted && stop.signal.reason === 'signal' ? 0 : 1;
  } finally {
    await cleanUp(started, dir, progress);
  }
  return code;
}

async function bringUp(
  options: DemoOptions,
  dir: string,
  progress: Progress,
  signal: AbortSignal,
  started: Started,
): Promise<number> {
  mkdirSync(dir, { recursive: true });
  for (const stale of ['agents', 'fleet', 'hub.db', 'hub.db-wal', 'hub.db-shm']) {
    rmSync(path.join(dir, stale), { recursive: true, force: true });
  }
  const clusters = clusterIdentities(path.join(FLEET_FOLDER, 'clusters.yaml'), DEMO_CLUSTERS);
  // Fail before the slow steps when a fixed port is taken (checked again when really listening).
  await withPortHint(portFree(options.port), '--port', options.port);
  await withPortHint(portFree(options.gitPort), '--git-port', options.gitPort);

  progress.step('Checking the local Kubernetes build (test/cluster; the first build takes a long while)');
  await buildControlPlane(progress, signal);
  signal.throwIfAborted();

  progress.step('Finding kustomize and helm (examples/fleet holds a kustomize overlay and a Helm chart)');
  const tools = await demoTools(dir, progress, signal);
  progress.detail(`linked into ${path.relative(process.cwd(), tools.bin) || tools.bin}`);
  signal.throwIfAborted();

  progress.step(`Starting three clusters: ${DEMO_CLUSTERS.join(', ')} (etcd, apiserver, controllers, KWOK)`);
  started.lab = true;
  const lab = await labUp({ names: [...DEMO_CLUSTERS], dir, log: progress.labLogger() });
  signal.throwIfAborted();

  progress.step('Starting the Git server with examples/fleet committed as fleet.git');
  started.fleet = await withPortHint(startFleetRepo(dir, options.gitPort), '--git-port', options.gitPort);
  progress.detail(`${started.fleet.url} at ${(await started.fleet.head()).slice(0, 7)}`);

  progress.step('Starting the hub and creating one token per cluster');
  started.hub = await withPortHint(
    startHub({
      db: path.join(dir, 'hub.db'),
      host: '127.0.0.1',
      port: options.port,
      logger: pino({ level: 'info' }, pino.destination({ dest: path.join(dir, 'hub.log'), sync: true })),
      // A demo on loopback: reads are public, said explicitly (a real hub needs a read token).
      settings: { staleAfterMs: 120_000, refreshSeconds: 2, publicRead: true },
    }),
    '--port',
    options.port,
  );
  const hubUrl = started.hub.url;
  progress.detail(`dashboard ${hubUrl}/`);

  progress.step(`Starting three agents (reconcile every ${options.interval}, previews of refs/pull/*/head)`);
  for (const cluster of clusters) {
    const home = path.join(dir, 'agents', cluster.name);
    mkdirSync(home, { recursive: true });
    const token = generateToken(cluster.name, new Date());
    await started.hub.store.createToken(token.record);
    const hubTokenFile = path.join(home, 'hub-token');
    writeFileSync(hubTokenFile, `${token.token}\n`, { mode: 0o600 });
    const kubeconfig = lab.find((c) => c.name === cluster.name)?.kubeconfigPath;
    if (!kubeconfig) throw new Error(`lab cluster ${cluster.name} has no kubeconfig`);
    const agent = startDemoAgent({
      cluster,
      gitUrl: started.fleet.url,
      hubUrl,
      hubTokenFile,
      kubeconfig,
      home,
      interval: options.interval,
      tools,
    });
    started.agents.push(agent);
    progress.detail(
      `${cluster.name}: pid ${agent.pid}, config ${path.relative(process.cwd(), agent.configFile)}`,
    );
  }

  const fleet = started.fleet;
  started.control = await startControl((action) => control(action, fleet, progress));
  writeDemoState(dir, {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    hubUrl,
    gitUrl: fleet.url,
    controlPort: started.control.port,
    agents: started.agents.map(({ name, pid, configFile, logFile }) => ({ name, pid, configFile, logFile })),
  });
  progress.step(`Waiting for the hub to show all three clusters Synced (dashboard: ${hubUrl}/)`);
  return watchUntilDone(options, started, progress, signal, hubUrl);
}

async function watchUntilDone(
  options: DemoOptions,
  started: Started,
  progress: Progress,
  signal: AbortSignal,
  hubUrl: string,
): Promise<number> {
  const fleet = started.fleet!;
  const done = new AbortController();
  const stopWatching = () => done.abort();
  signal.addEventListener('abort', stopWatching, { once: true });
  let head = await fleet.head();
  const headTimer = setInterval(
    () =>
      void fleet.head().then(
        (h) => (head = h),
        () => {},
      ),
    1000,
  );
  let code = 0;
  let guideShown = false;
  const timeout = options.exitWhenSynced
    ? setTimeout(() => {
        progress.step(`Not all clusters Synced after ${options.timeoutSeconds}s: giving up`);
        code = 1;
        done.abort();
      }, options.timeoutSeconds * 1000)
    : undefined;
  for (const agent of started.agents) {
    void agent.exited.then((how) => {
      if (signal.aborted || done.signal.aborted) return;
      progress.step(`Agent ${agent.name} ended unexpectedly (${how}); see ${agent.logFile}`);
      code = 1;
      done.abort();
    });
  }
  await watchFleet(
    {
      hubUrl,
      names: DEMO_CLUSTERS,
      commit: () => head,
      onChange: (t) => progress.detail(t),
      signal: done.signal,
    },
    () => {
      progress.step(
        `All three clusters Synced on ${head.slice(0, 7)} (${progress.elapsed().toFixed(1)}s after start)`,
      );
      if (options.exitWhenSynced) {
        done.abort();
        return;
      }
      if (!guideShown) {
        progress.print(formatGuide({ hubUrl, gitUrl: fleet.url, dir: options.dir }, options.dir));
        guideShown = true;
      }
    },
  );
  clearInterval(headTimer);
  clearTimeout(timeout);
  signal.removeEventListener('abort', stopWatching);
  return code;
}

function portFree(port: number): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

/** A port already taken becomes an error that says which flag picks another one. */
async function withPortHint<T>(starting: Promise<T>, flag: string, port: number): Promise<T> {
  try {
    return await starting;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(
        `port ${port} on 127.0.0.1 is in use: pick another with ${flag} (0 takes any free port)`,
      );
    }
    throw err;
  }
}

async function control(action: ControlAction, fleet: FleetRepo, progress: Progress): Promise<string> {
  if (action === 'git stop') {
    await fleet.server.stop();
    progress.step(`Git server stopped (${fleet.url}): agents keep enforcing the commit they have`);
    return `Git server stopped: ${fleet.url} refuses connections until "npm run demo -- git start"`;
  }
  await fleet.server.start();
  progress.step(`Git server back at ${fleet.url}`);
  return `Git server started again at ${fleet.url}`;
}

/** Runs test/cluster/build.sh (it returns at once when the binary is current), with a ticker. */
async function buildControlPlane(progress: Progress, signal: AbortSignal): Promise<void> {
  const child = spawn('bash', [BUILD_SCRIPT], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const show = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) progress.detail(line);
  };
  child.stdout.on('data', show);
  child.stderr.on('data', show);
  const stopTicker = progress.ticker('still building Kubernetes from its Go modules');
  const kill = () => {
    if (child.pid) process.kill(-child.pid, 'SIGTERM');
  };
  signal.addEventListener('abort', kill, { once: true });
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (c) => resolve(c));
    });
    if (code !== 0) throw new Error(`${BUILD_SCRIPT} failed (exit ${code})`);
  } finally {
    stopTicker();
    signal.removeEventListener('abort', kill);
  }
}

/** Stops agents first (they flush their last reports to the hub), then hub, Git and the lab. */
async function cleanUp(started: Started, dir: string, progress: Progress): Promise<void> {
  progress.step('Stopping everything the demo started');
  const attempt = async (what: string, stopIt: () => Promise<unknown>) => {
    try {
      await stopIt();
      progress.detail(`${what} stopped`);
    } catch (err) {
      progress.detail(`${what}: ${(err as Error).message}`);
    }
  };
  await Promise.all(started.agents.map((a) => attempt(`agent ${a.name}`, () => a.stop())));
  if (started.control) await attempt('control endpoint', () => started.control!.close());
  if (started.hub) await attempt('hub', () => started.hub!.stop());
  if (started.fleet) await attempt('Git server', () => started.fleet!.server.close());
  if (started.lab) await attempt('lab clusters', () => labDown(dir));
  removeDemoState(dir);
  progress.step('Done: nothing left running');
}

function onSignals(stop: AbortController, progress: Progress): void {
  const handle = (signal: string) => {
    if (stop.signal.aborted) {
      progress.detail(`${signal}: still cleaning up, please wait`);
      return;
    }
    progress.step(`${signal}: stopping`);
    stop.abort('signal');
  };
  process.on('SIGINT', () => handle('SIGINT'));
  process.on('SIGTERM', () => handle('SIGTERM'));
}

// A closed terminal or pipe must not crash the clean-up.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`demo: ${err.message}\n`);
    process.exit(1);
  },
);
