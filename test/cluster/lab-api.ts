/**
 * The lab: real local Kubernetes clusters for tests and demos, started from one multi-call binary
 * (test/cluster/bin/cluster, built by build.sh) with each component as its own detached process:
 * etcd, kube-apiserver, kube-controller-manager, kube-scheduler and KWOK (one fake Node, so Pods
 * of a Deployment become Ready without containers).
 *
 *   const clusters = await labUp({ names: ['hz', 'sh'], dir: '.lab' }); // reuses running ones
 *   clusters[0].kubeconfigPath  // <dir>/hz/kubeconfig, admin in system:masters
 *   await labStatus('.lab');
 *   await labDown('.lab');      // stops every process it started, removes cluster data
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type Logger, pino } from 'pino';
import {
  type ClusterState,
  logTail,
  prepareClusterFiles,
  readCredentials,
  readState,
  writeKubeconfig,
  writeState,
} from './lab-files.js';
import { answersOk, call, freePorts } from './lab-http.js';
import {
  type ClusterLayout,
  COMPONENTS,
  type Component,
  clusterLayout,
  componentArgs,
  fakeNode,
  KWOK_NODE_NAME,
  type LabPorts,
} from './lab-layout.js';
import { withLabLock } from './lab-lock.js';
import { isLabProcess, type LabProcess, residentBytes, startProcess, stopProcesses } from './lab-process.js';

export type { Component } from './lab-layout.js';
export { COMPONENTS, KWOK_NODE_NAME } from './lab-layout.js';

export interface LabCluster {
  name: string;
  /** `<labDir>/<name>`: kubeconfig, pki/, logs/<component>.log, state.json. */
  dir: string;
  kubeconfigPath: string;
  /** `https://127.0.0.1:PORT` */
  server: string;
  pids: Record<Component, number>;
}

export interface LabClusterStatus extends LabCluster {
  /** Whether each recorded process is still running. */
  running: Record<Component, boolean>;
  /** Resident memory of each running process, in bytes. */
  rssBytes: Partial<Record<Component, number>>;
  /** The apiserver answers /readyz. */
  ready: boolean;
}

export interface LabUpOptions {
  names: string[];
  dir: string;
  log?: Logger;
  /** Defaults to test/cluster/bin/cluster, built by build.sh when missing or stale. */
  binary?: string;
}

/** A cluster that could not start: names the cluster, the component and the tail of its log. */
export class LabError extends Error {
  constructor(
    readonly cluster: string,
    readonly component: Component | undefined,
    message: string,
    readonly logTail?: string,
  ) {
    super(
      `lab cluster ${cluster}${component ? ` (${component})` : ''}: ${message}${logTail ? `\n--- log tail ---\n${logTail}` : ''}`,
    );
    this.name = 'LabError';
  }
}

const HERE = fileURLToPath(new URL('.', import.meta.url));
export const DEFAULT_BINARY = resolve(HERE, 'bin/cluster');

const silent = pino({ level: 'silent' });

/** Builds the control-plane binary when it is missing or its sources changed (build.sh decides). */
export function ensureBinary(log: Logger = silent): string {
  log.info({ script: resolve(HERE, 'build.sh') }, 'checking the control-plane binary');
  execFileSync('bash', [resolve(HERE, 'build.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  return DEFAULT_BINARY;
}

/** Starts the named clusters (reusing any that already run and answer) and waits until each is usable. */
export async function labUp({ names, dir, log = silent, binary }: LabUpOptions): Promise<LabCluster[]> {
  const labDir = resolve(dir);
  const layouts = names.map((name) => clusterLayout(labDir, name));
  const bin = binary ?? ensureBinary(log);
  return withLabLock(labDir, () => upLocked(layouts, bin, log));
}

async function upLocked(layouts: ClusterLayout[], bin: string, log: Logger): Promise<LabCluster[]> {
  const reusable = await Promise.all(layouts.map((layout) => runningState(layout, bin)));
  const toStart = layouts.filter((_, i) => reusable[i] === undefined);
  const ports = await freePorts(toStart.length * 5);
  const started = await Promise.allSettled(
    toStart.map((layout, i) =>
      startCluster(layout, bin, portsAt(ports, i), log.child({ cluster: layout.name })),
    ),
  );
  const failures = started.flatMap((result) =>
    result.status === 'rejected' ? [result.reason as Error] : [],
  );
  if (failures.length > 0) {
    const startedStates = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    await Promise.all(startedStates.map((state) => stopState(state)));
    throw failures.length === 1
      ? failures[0]
      : new AggregateError(failures, failures.map((e) => e.message).join('\n\n'));
  }
  return layouts.map((layout) => {
    const state = reusable[layouts.indexOf(layout)] ?? readState(layout);
    if (!state) throw new LabError(layout.name, undefined, `no state file at ${layout.state} after start`);
    return toLabCluster(layout, state);
  });
}

/** Stops every cluster recorded under `dir` and removes their data; returns the names stopped. */
export async function labDown(dir: string, log: Logger = silent): Promise<string[]> {
  const labDir = resolve(dir);
  if (!existsSync(labDir)) return [];
  return withLabLock(labDir, () => downLocked(labDir, log));
}

async function downLocked(labDir: string, log: Logger): Promise<string[]> {
  const stopped = await Promise.all(
    recordedClusters(labDir).map(async (layout) => {
      const state = readState(layout);
      if (!state) return [];
      await stopState(state);
      prepareForNextRun(layout);
      log.info({ cluster: layout.name }, 'cluster stopped');
      return [layout.name];
    }),
  );
  return stopped.flat();
}

/** What runs under `dir`: pids, liveness, memory and readiness of each recorded cluster. */
export async function labStatus(dir: string): Promise<LabClusterStatus[]> {
  return Promise.all(
    recordedClusters(resolve(dir)).flatMap((layout) => {
      const state = readState(layout);
      return state ? [clusterStatus(layout, state)] : [];
    }),
  );
}

async function clusterStatus(layout: ClusterLayout, state: ClusterState): Promise<LabClusterStatus> {
  const running = {} as Record<Component, boolean>;
  const rssBytes: Partial<Record<Component, number>> = {};
  for (const component of COMPONENTS) {
    const pid = state.pids[component];
    running[component] = isLabProcess(pid, state.binary, component);
    if (running[component]) rssBytes[component] = residentBytes(pid);
  }
  return {
    ...toLabCluster(layout, state),
    running,
    rssBytes,
    ready: await apiserverReady(layout, state.server),
  };
}

function recordedClusters(labDir: string): ClusterLayout[] {
  if (!existsSync(labDir)) return [];
  return readdirSync(labDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(resolve(labDir, entry.name, 'state.json')))
    .map((entry) => clusterLayout(labDir, entry.name));
}

function toLabCluster(layout: ClusterLayout, state: ClusterState): LabCluster {
  return {
    name: layout.name,
    dir: layout.dir,
    kubeconfigPath: layout.kubeconfig,
    server: state.server,
    pids: state.pids,
  };
}

function portsAt(ports: number[], cluster: number): LabPorts {
  const [etcdClient, etcdPeer, apiserver, controllerManager, scheduler] = ports.slice(
    cluster * 5,
    cluster * 5 + 5,
  );
  if (scheduler === undefined) throw new Error('lab: not enough free ports reserved');
  return {
    etcdClient: etcdClient!,
    etcdPeer: etcdPeer!,
    apiserver: apiserver!,
    controllerManager: controllerManager!,
    scheduler,
  };
}

/** The recorded state when every process of the cluster runs and the apiserver answers; else stops leftovers. */
async function runningState(layout: ClusterLayout, binary: string): Promise<ClusterState | undefined> {
  const state = readState(layout);
  if (!state) return undefined;
  const allRunning = COMPONENTS.every((c) => isLabProcess(state.pids[c], state.binary, c));
  if (allRunning && state.binary === binary && (await apiserverReady(layout, state.server))) return state;
  await stopState(state);
  return undefined;
}

async function apiserverReady(layout: ClusterLayout, server: string): Promise<boolean> {
  try {
    const { ca, token } = readCredentials(layout);
    return await answersOk({ url: `${server}/readyz`, ca, token });
  } catch {
    return false;
  }
}

/** Stops clients first and etcd last: an apiserver whose etcd is gone takes many seconds to exit. */
async function stopState(state: ClusterState): Promise<void> {
  await stopComponents(state.pids, state.binary);
}

async function stopComponents(pids: Partial<Record<Component, number>>, binary: string): Promise<void> {
  const clients = COMPONENTS.filter((c) => c !== 'etcd' && c !== 'kube-apiserver');
  for (const phase of [clients, ['kube-apiserver'], ['etcd']] as Component[][]) {
    await stopProcesses(
      phase.flatMap((component) => {
        const pid = pids[component];
        return pid === undefined ? [] : [{ component, pid }];
      }),
      binary,
    );
  }
}

function prepareForNextRun(layout: ClusterLayout): void {
  // Keep logs for post-mortems; drop everything that describes a running cluster.
  for (const path of [layout.state, layout.kubeconfig, layout.etcdData]) {
    rmSync(path, { recursive: true, force: true });
  }
}

/** Starts one cluster's processes in order, waiting for each to be usable; stops them all on failure. */
async function startCluster(
  layout: ClusterLayout,
  binary: string,
  ports: LabPorts,
  log: Logger,
): Promise<ClusterState> {
  const began = Date.now();
  const { token } = prepareClusterFiles(layout, binary);
  const server = `https://127.0.0.1:${ports.apiserver}`;
  const processes: LabProcess[] = [];
  const start = (component: Component): void => {
    processes.push(
      startProcess(
        binary,
        component,
        componentArgs(component, layout, ports),
        `${layout.logs}/${component}.log`,
      ),
    );
    log.info({ component }, 'started');
  };
  const until = (what: string, component: Component, timeoutMs: number, check: () => Promise<boolean>) =>
    waitFor(layout, processes, what, component, timeoutMs, check);

  try {
    start('etcd');
    await until('etcd /health', 'etcd', 60_000, () =>
      answersOk({ url: `http://127.0.0.1:${ports.etcdClient}/health` }),
    );
    start('kube-apiserver');
    await until('apiserver /readyz', 'kube-apiserver', 240_000, () =>
      answersOk({ url: `${server}/readyz`, token }),
    );
    writeKubeconfig(layout, server, token);
    const { ca } = readCredentials(layout);
    start('kube-controller-manager');
    start('kube-scheduler');
    start('kwok');
    await createFakeNode(layout, server, ca, token);
    await until('the KWOK node Ready', 'kwok', 120_000, () => nodeReady(server, ca, token));
    await until('the default ServiceAccount', 'kube-controller-manager', 120_000, () =>
      answersOk({ url: `${server}/api/v1/namespaces/default/serviceaccounts/default`, ca, token }),
    );
    await until('scheduler /healthz', 'kube-scheduler', 60_000, () =>
      answersOk({ url: `https://127.0.0.1:${ports.scheduler}/healthz` }),
    );
  } catch (error) {
    await stopComponents(Object.fromEntries(processes.map((p) => [p.component, p.pid])), binary);
    throw error;
  }

  const pids = Object.fromEntries(processes.map((p) => [p.component, p.pid])) as Record<Component, number>;
  const state: ClusterState = {
    name: layout.name,
    binary,
    server,
    ports,
    pids,
    startedAt: new Date().toISOString(),
  };
  writeState(layout, state);
  log.info({ server, seconds: (Date.now() - began) / 1000 }, 'cluster ready');
  return state;
}

/** Polls `check` until true; fails loudly when time runs out or any started process has exited. */
async function waitFor(
  layout: ClusterLayout,
  processes: LabProcess[],
  what: string,
  component: Component,
  timeoutMs: number,
  check: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const exited = processes.find((p) => p.exit !== undefined);
    if (exited) {
      const how = exited.exit?.code !== null ? `code ${exited.exit?.code}` : `signal ${exited.exit?.signal}`;
      throw new LabError(
        layout.name,
        exited.component as Component,
        `exited (${how}) while waiting for ${what}`,
        logTail(layout, exited.component as Component),
      );
    }
    if (await check()) return;
    if (Date.now() > deadline) {
      throw new LabError(
        layout.name,
        component,
        `no ${what} after ${timeoutMs / 1000}s`,
        logTail(layout, component),
      );
    }
    await sleep(250);
  }
}

async function createFakeNode(
  layout: ClusterLayout,
  server: string,
  ca: string,
  token: string,
): Promise<void> {
  const answer = await call({ url: `${server}/api/v1/nodes`, method: 'POST', body: fakeNode(), ca, token });
  if (answer.status !== 201 && answer.status !== 409) {
    throw new LabError(
      layout.name,
      'kube-apiserver',
      `creating Node ${KWOK_NODE_NAME}: HTTP ${answer.status} ${answer.body}`,
    );
  }
}

async function nodeReady(server: string, ca: string, token: string): Promise<boolean> {
  const answer = await call({ url: `${server}/api/v1/nodes/${KWOK_NODE_NAME}`, ca, token });
  if (answer.status !== 200) return false;
  const node = JSON.parse(answer.body) as { status?: { conditions?: { type: string; status: string }[] } };
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}
