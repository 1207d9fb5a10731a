/**
 * The demo's agents: one `strata agent --config FILE` child process per cluster, each with its own
 * generated config (identity, the demo repo with a PR preview pattern, the hub and its token, the
 * cluster's kubeconfig), state folder and log file under `<dir>/agents/<cluster>/`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { ClusterIdentity } from '../../agent/src/model/object.js';

const CLI = fileURLToPath(new URL('../../agent/src/cli.ts', import.meta.url));

export interface AgentSetup {
  cluster: ClusterIdentity;
  gitUrl: string;
  hubUrl: string;
  hubTokenFile: string;
  kubeconfig: string;
  /** `<dir>/agents/<cluster>`: config, state and log live here. */
  home: string;
  interval: string;
  /** The kustomize and helm binaries, for the fleet's overlay and chart. */
  tools: { kustomize: string; helm: string };
}

/** The agent config file's content (format: agent/src/config/README.md). */
export function agentConfig(setup: AgentSetup): Record<string, unknown> {
  return {
    cluster: { name: setup.cluster.name, labels: setup.cluster.labels },
    sources: [
      {
        name: 'fleet',
        url: setup.gitUrl,
        ref: 'main',
        interval: setup.interval,
        timeout: '10s',
        previewRefs: 'refs/pull/*/head',
        // The demo's pull requests are all made by the demo itself; a real fleet trusts signed heads only.
        previewPolicy: { trust: 'everyone' },
      },
    ],
    hub: { url: setup.hubUrl, tokenFile: setup.hubTokenFile, timeout: '5s' },
    kube: { kubeconfig: setup.kubeconfig },
    drift: { policy: 'correct', interval: '30s' },
    outbox: { minBackoff: '500ms', maxBackoff: '5s' },
    render: { kustomize: setup.tools.kustomize, helm: setup.tools.helm },
    stateDir: path.join(setup.home, 'state'),
    listen: '127.0.0.1:0',
    log: { level: 'info' },
  };
}

export interface DemoAgent {
  name: string;
  pid: number;
  configFile: string;
  logFile: string;
  /** Resolves with the exit code (or signal) once the process has ended. */
  exited: Promise<string>;
  /** SIGTERM (graceful: the agent flushes its outbox), then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<string>;
}

/** Writes the config and starts the agent in its own process group (Ctrl-C reaches the demo only). */
export function startDemoAgent(setup: AgentSetup): DemoAgent {
  mkdirSync(setup.home, { recursive: true });
  const configFile = path.join(setup.home, 'agent.yaml');
  writeFileSync(configFile, stringify(agentConfig(setup)));
  const logFile = path.join(setup.home, 'agent.log');
  const log = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, ['--import', 'tsx', CLI, 'agent', '--config', configFile], {
      detached: true,
      stdio: ['ignore', log, log],
    });
  } finally {
    closeSync(log);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`agent ${setup.cluster.name}: could not start ${process.execPath}`);
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code !== null ? `exit ${code}` : `signal ${signal}`));
  });
  let exitedYet = false;
  void exited.then(() => {
    exitedYet = true;
  });
  return {
    name: setup.cluster.name,
    pid,
    configFile,
    logFile,
    exited,
    stop: async (graceMs = 15_000) => {
      if (exitedYet) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const how = await exited;
      clearTimeout(timer);
      return how;
    },
  };
}
