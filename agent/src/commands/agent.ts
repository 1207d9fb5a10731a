/** `strata agent`: the long-running daemon of one spoke cluster (docs/design.md §2). */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { AGENT_USAGE, ConfigError, loadConfig } from '../config/load.js';
import type { AgentConfig, SourceConfig } from '../config/schema.js';
import { KubeApiClient } from '../kube/client.js';
import { impersonating, serviceAccountUser } from '../kube/impersonate.js';
import { loadAccess } from '../kube/kubeconfig.js';
import { createLogger } from '../log.js';
import {
  enginePipeline,
  type LoopSource,
  type Pipeline,
  type PreviewHook,
  ReconcileLoop,
} from '../loop/index.js';
import { AgentMetrics } from '../loop/metrics.js';
import { isSshUrl } from '../model/ssh-url.js';
import { previewHook } from '../preview/live.js';
import { cachedCapabilities } from '../render-tools/capabilities.js';
import { createRenderTools } from '../render-tools/index.js';
import { Delivery } from '../report/delivery.js';
import { hubSender } from '../report/hub-client.js';
import { Outbox } from '../report/outbox.js';
import { hubAsker, rolloutGatekeeper } from '../rollout/gatekeeper.js';
import { type AgentServer, startAgentServer } from '../server/http.js';
import { FolderSource } from '../source/folder-source.js';
import { cacheFolderName, GitSource } from '../source/git.js';
import { VERSION } from '../version.js';

/** `strata agent`: run the agent until SIGTERM; the exit code of the verb. */
export default async function agent(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${AGENT_USAGE}\n`);
    return 0;
  }
  let loaded: Awaited<ReturnType<typeof loadConfig>>;
  try {
    loaded = await loadConfig({ argv });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`strata agent: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const { config, once } = loaded;
  const log = createLogger(config.log.level).child({ cluster: config.cluster.name });
  const running = await startAgent(config, log);
  if (once) {
    const statuses = await running.loop.trigger('start');
    await running.shutdown('once');
    const code = statuses.every((s) => s.error === null && s.sync !== null && s.sync.phase !== 'Failed')
      ? 0
      : 1;
    setTimeout(() => process.exit(code), 1000).unref();
    return code;
  }
  running.loop.start();
  return waitForSignals(running, log);
}

/**
 * A started agent: its loop, server, outbox and delivery, and the one way to stop them in order.
 */
export interface RunningAgent {
  loop: ReconcileLoop;
  server: AgentServer;
  outbox: Outbox;
  delivery: Delivery | undefined;
  /** Finish the current step, flush the outbox (bounded), close everything. */
  shutdown(reason: string): Promise<void>;
}

/**
 * What tests may replace when starting an agent (the engine, the preview hook, the drain timeout).
 */
export interface StartOptions {
  /** Replace the render + sync engine (tests without a cluster). */
  pipeline?: Pipeline;
  previews?: PreviewHook;
  /** How long SIGTERM waits for the outbox to drain. */
  flushTimeoutMs?: number;
}

/** Open state, sources, outbox and server; the loop is returned unstarted. */
export async function startAgent(
  config: AgentConfig,
  log: Logger,
  opts: StartOptions = {},
): Promise<RunningAgent> {
  await mkdir(config.stateDir, { recursive: true });
  const outbox = Outbox.open(path.join(config.stateDir, 'outbox.db'), {
    maxReports: config.outbox.maxReports,
    onQuarantine: (movedTo, err) =>
      log.error({ movedTo, err: err.message }, 'Outbox file damaged; moved aside, starting a new outbox.'),
  });
  const metrics = new AgentMetrics(
    () => outbox.stats().pending,
    () => outbox.storageError !== undefined,
  );
  const delivery = config.hub
    ? new Delivery({
        outbox,
        send: hubSender(config.hub),
        minBackoffMs: config.outbox.minBackoff,
        maxBackoffMs: config.outbox.maxBackoff,
        log: log.child({ component: 'delivery' }),
        onAttempt: (ok) => metrics.recordDelivery(ok),
      })
    : undefined;
  const sources = await Promise.all(config.sources.map((s) => openSource(s, config.stateDir, log)));
  // Kubernetes clients keep connections alive: they are closed at shutdown so the process can exit.
  const clients: KubeApiClient[] = [];
  const engineFor = (as?: string) => {
    const engine = engineOptions(config, as);
    clients.push(engine.client);
    return engine;
  };
  // Live PR previews plan with their own Kubernetes client and Git caches, apart from the main sync.
  const previews =
    opts.previews ??
    (opts.pipeline
      ? undefined
      : previewHook({
          // A pull request's author is not trusted: its dry-runs may run as a narrower identity.
          ...engineFor(config.kube.previewServiceAccount),
          cacheDir: path.join(config.stateDir, 'previews'),
        }));
  const engine = opts.pipeline ? undefined : engineFor();
  const loop = new ReconcileLoop({
    identity: config.cluster,
    agent: { version: VERSION, startedAt: new Date().toISOString() },
    sources,
    pipeline: opts.pipeline ?? enginePipeline(engine!),
    ...(engine ? { capabilities: engine.capabilities.latest } : {}),
    outbox,
    delivery,
    metrics,
    log,
    driftIntervalMs: config.drift.interval,
    rollout: rolloutGatekeeper({
      identity: config.cluster,
      stateDir: config.stateDir,
      ...(config.hub ? { ask: hubAsker(config.hub) } : {}),
    }),
    ...(previews ? { previews } : {}),
  });
  const server = await startAgentServer({
    listen: config.listen,
    loop,
    metrics,
    log,
    ...(config.syncTokenFile ? { syncTokenFile: config.syncTokenFile } : {}),
  });
  delivery?.start();
  if (!config.hub) log.warn('No hub configured: reports stay in the outbox.');
  let closing: Promise<void> | undefined;
  const shutdown = (reason: string) => {
    closing ??= (async () => {
      log.info({ reason }, 'Shutting down: finishing the current reconcile.');
      await loop.stop();
      if (delivery) {
        const drained = await delivery.flush(opts.flushTimeoutMs ?? 10_000);
        log.info({ drained, pending: outbox.stats().pending }, 'Outbox flushed.');
      }
      await server.close();
      outbox.close();
      for (const client of clients) client.close();
    })();
    return closing;
  };
  return { loop, server, outbox, delivery, shutdown };
}

async function openSource(config: SourceConfig, stateDir: string, log: Logger): Promise<LoopSource> {
  if (config.kind === 'folder') {
    const folder = new FolderSource(config.url);
    return {
      config,
      access: {
        get state() {
          return folder.state;
        },
        fetch: () => folder.fetch(),
        tree: () => folder.tree(),
        displayUrl: config.url,
      },
    };
  }
  if (!/^https?:\/\//i.test(config.url) && !isSshUrl(config.url)) {
    throw new ConfigError(
      `source ${config.name}: only http(s) and SSH Git URLs are supported, not ${config.url}`,
      undefined,
      [{ field: `sources.${config.name}.url`, message: 'must be http(s)://, ssh:// or user@host:path' }],
    );
  }
  const git = await GitSource.open({
    url: config.url,
    ref: config.ref,
    ...(config.auth ? { auth: config.auth } : {}),
    ...(config.verify ? { verify: config.verify } : {}),
    timeoutMs: config.timeout,
    cacheDir: path.join(stateDir, 'sources', cacheFolderName(config.name, config.url)),
    log: log.child({ source: config.name }),
  });
  return { config, access: git, git };
}

/** The engine's parts; with `serviceAccount` (`namespace/name`) its client impersonates that ServiceAccount. */
function engineOptions(config: AgentConfig, serviceAccount?: string) {
  // Our own kubeconfig loader: @kubernetes/client-node alone would add ~75 MB of resident memory.
  const own = loadAccess({
    ...(config.kube.kubeconfig ? { kubeconfig: config.kube.kubeconfig } : {}),
    ...(config.kube.context ? { context: config.kube.context } : {}),
    inCluster: config.kube.inCluster,
    policy: { allowInsecureSkipTlsVerify: config.kube.insecureSkipTlsVerify, execEnv: config.kube.execEnv },
  });
  const access = serviceAccount ? impersonating(own, serviceAccountUser(serviceAccount)) : own;
  const client = new KubeApiClient(access, { timeoutMs: config.kube.timeout });
  return {
    client,
    identity: config.cluster,
    namespace: config.kube.namespace,
    policy: {
      drift: config.drift.policy,
      prune: config.prune.enabled,
      pruneMaxFraction: config.prune.maxFraction,
    },
    pruneAllow: config.prune.allow,
    stateDir: path.join(config.stateDir, 'sync'),
    renderTools: createRenderTools({
      env: process.env,
      stateDir: config.stateDir,
      binaries: {
        ...(config.render.kustomize ? { kustomize: config.render.kustomize } : {}),
        ...(config.render.helm ? { helm: config.render.helm } : {}),
      },
      chartCredentials: config.render.chartCredentials,
    }),
    capabilities: cachedCapabilities(() => client.capabilities()),
  };
}

/** SIGHUP reconciles now; SIGTERM/SIGINT shut down gracefully (a second one exits at once). */
function waitForSignals(running: RunningAgent, log: Logger): Promise<number> {
  return new Promise((resolve) => {
    process.on('SIGHUP', () => {
      log.info('SIGHUP: reconciling every source now.');
      running.loop.trigger('manual').catch((err: unknown) => log.error({ err }, 'Manual sync failed.'));
    });
    let terminating = false;
    const terminate = (signal: string) => {
      if (terminating) {
        log.warn({ signal }, 'Second signal: exiting now.');
        process.exit(130);
      }
      terminating = true;
      running.shutdown(signal).then(
        () => {
          // Anything still holding the event loop (a library's idle socket) must not keep a stopped agent alive.
          setTimeout(() => process.exit(0), 1000).unref();
          resolve(0);
        },
        (err: unknown) => {
          log.error({ err }, 'Shutdown failed.');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => terminate('SIGTERM'));
    process.on('SIGINT', () => terminate('SIGINT'));
  });
}
