/**
 * The two tools of `bench:peers` behind one shape, so every measurement runs the same code for
 * both: start with an interval, change the interval, trigger a sync the fastest way the tool
 * documents, count finished reconciles, and say whether it reports Ready/Synced at a commit.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { type AgentRun, startAgent } from './agent-launch.js';
import {
  applyFluxObjects,
  type FluxController,
  type FluxRun,
  fluxKustomizationReady,
  fluxReconciles,
  installFluxCrds,
  requestFluxReconcile,
  setFluxInterval,
  startFlux,
} from './flux.js';
import type { RawKube } from './kube-raw.js';
import { getText } from './local-http.js';
import { LogLineCounter } from './log-count.js';
import { memoryOf } from './proc-stats.js';

export type ToolName = 'strata' | 'flux';

export interface PeerTool {
  readonly name: ToolName;
  /** Starts the tool's processes syncing `url` every `interval` (Go/Strata duration, e.g. `10s`). */
  start(interval: string): Promise<void>;
  /** Changes the interval; resolves once the reconcile the change causes has finished. */
  setInterval(interval: string): Promise<void>;
  /** Asks for a sync now; returns as soon as the request is accepted. */
  trigger(): Promise<void>;
  /** Reconciles of the objects finished so far (Strata: per source; Flux: per Kustomization). */
  reconciles(): Promise<number>;
  /**
   * The same count read from the tool's log file, which costs the tool nothing: what the no-op
   * window counts with, so that its CPU figure holds no scrapes of the tool's /metrics.
   */
  loggedReconciles(): number;
  /** The tool reports Ready/Synced (Flux: at `commit`; Strata's metrics carry no commit). */
  ready(commit: string): Promise<boolean>;
  pids(): number[];
  /** Highest VmHWM of the tool's processes, summed over processes, over every run so far. */
  peak(): number;
  stop(): Promise<void>;
}

export interface ToolContext {
  kube: RawKube;
  url: string;
  dir: string;
}

export class StrataTool implements PeerTool {
  readonly name = 'strata';
  private agent: AgentRun | undefined;
  private peakSeen = 0;
  private runs = 0;
  // Every run appends to the same file; a reconcile that produced a sync result logs its phase.
  private readonly logged: LogLineCounter;

  constructor(
    private readonly ctx: ToolContext,
    private readonly kubeconfig: string,
  ) {
    this.logged = new LogLineCounter(join(ctx.dir, 'agent.log'), /"phase":"[A-Za-z]+".*"msg":"Reconciled\."/);
  }

  async start(interval: string): Promise<void> {
    const config = {
      cluster: { name: 'bench', labels: {} },
      sources: [{ name: 'fleet', url: this.ctx.url, interval, timeout: '60s' }],
      kube: { kubeconfig: this.kubeconfig, namespace: 'strata-system' },
      // No drift timer between reconciles: every reconcile plans against the live objects anyway,
      // and Flux has no such timer either (it corrects drift on its interval).
      drift: { policy: 'correct', interval },
      stateDir: join(this.ctx.dir, 'state'),
      listen: '127.0.0.1:0',
      // info: the "Listening." line tells the bench the agent's port.
      log: { level: 'info' },
    };
    const file = join(this.ctx.dir, `agent-${++this.runs}.yaml`);
    writeFileSync(file, stringify(config));
    this.agent = await startAgent(file, { logFile: join(this.ctx.dir, 'agent.log') });
  }

  /** The agent reads its interval at start: restart it (its state directory keeps its caches). */
  async setInterval(interval: string): Promise<void> {
    await this.stop();
    await this.start(interval);
    await settle(this, 0);
  }

  async trigger(): Promise<void> {
    const res = await fetch(`http://127.0.0.1:${this.running().port}/sync?wait=false`, { method: 'POST' });
    if (res.status !== 202) throw new Error(`POST /sync: HTTP ${res.status}`);
  }

  async reconciles(): Promise<number> {
    return sumMetric(await this.metrics(), 'strata_reconciles_total');
  }

  loggedReconciles(): number {
    return this.logged.read();
  }

  async ready(): Promise<boolean> {
    return /^strata_sync_phase\{[^}]*phase="Synced"[^}]*\} 1$/m.test(await this.metrics());
  }

  pids(): number[] {
    return [this.running().pid];
  }

  peak(): number {
    if (this.agent) this.peakSeen = Math.max(this.peakSeen, memoryOf(this.agent.pid).peak);
    return this.peakSeen;
  }

  async stop(): Promise<void> {
    if (!this.agent) return;
    this.peak();
    await this.agent.stop();
    this.agent = undefined;
  }

  private running(): AgentRun {
    if (!this.agent) throw new Error('the Strata agent is not running');
    return this.agent;
  }

  private async metrics(): Promise<string> {
    return getText(`http://127.0.0.1:${this.running().port}/metrics`);
  }
}

export class FluxTool implements PeerTool {
  readonly name = 'flux';
  private run: FluxRun | undefined;
  private peakSeen = 0;
  // kustomize-controller logs the end of every Kustomization reconcile, success or failure.
  private readonly logged: LogLineCounter;

  constructor(
    private readonly ctx: ToolContext,
    private readonly bins: Record<FluxController, string>,
    private readonly kubeconfigs: Record<FluxController, string>,
    /** Kustomization `wait: true`: Ready only once every applied object is healthy. */
    private readonly wait: boolean,
    /** The Kustomization's `timeout` (a Go duration), scaled to the object set by the caller. */
    private readonly timeout = '10m',
  ) {
    this.logged = new LogLineCounter(
      join(ctx.dir, 'kustomize-controller.log'),
      /"msg":"Reconciliation (finished|failed)[^"]*".*"controller":"kustomization"/,
    );
  }

  /** Installs the CRDs (as a Flux install would, before the controllers exist). */
  async prepare(): Promise<void> {
    await installFluxCrds(this.ctx.kube);
  }

  async start(interval: string): Promise<void> {
    this.run = await startFlux({ bins: this.bins, kubeconfigs: this.kubeconfigs, dir: this.ctx.dir });
    await applyFluxObjects(this.ctx.kube, {
      url: this.ctx.url,
      path: './global',
      interval,
      wait: this.wait,
      timeout: this.timeout,
    });
  }

  /** The controllers' command lines, with the environment the bench gives them. */
  commands(): string[] {
    return this.running().commands.map(
      (c) => `KUBECONFIG=<its service account's kubeconfig> RUNTIME_NAMESPACE=flux-system ${c}`,
    );
  }

  async setInterval(interval: string): Promise<void> {
    const before = await this.reconciles();
    await setFluxInterval(this.ctx.kube, interval);
    await settle(this, before);
  }

  trigger(): Promise<void> {
    return requestFluxReconcile(this.ctx.kube);
  }

  reconciles(): Promise<number> {
    return fluxReconciles(this.running());
  }

  loggedReconciles(): number {
    return this.logged.read();
  }

  ready(commit: string): Promise<boolean> {
    return fluxKustomizationReady(this.ctx.kube, commit);
  }

  pids(): number[] {
    return this.running().pids;
  }

  peak(): number {
    if (this.run) {
      this.peakSeen = Math.max(
        this.peakSeen,
        this.run.pids.reduce((sum, pid) => sum + memoryOf(pid).peak, 0),
      );
    }
    return this.peakSeen;
  }

  async stop(): Promise<void> {
    if (!this.run) return;
    this.peak();
    await this.run.stop();
    this.run = undefined;
  }

  private running(): FluxRun {
    if (!this.run) throw new Error('the Flux controllers are not running');
    return this.run;
  }
}

/** Waits (at most 10 minutes) until the tool has finished more than `before` reconciles. */
async function settle(tool: PeerTool, before: number): Promise<void> {
  const giveUp = Date.now() + 600_000;
  while ((await tool.reconciles()) <= before) {
    if (Date.now() > giveUp)
      throw new Error(`${tool.name}: no reconcile within 10 minutes of an interval change`);
    await sleep(250);
  }
}

/** Sum of every series of one counter in a Prometheus text exposition. */
export function sumMetric(text: string, name: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}
