/**
 * The reconcile loop: for each source, fetch → render → plan → apply → prune → health → report.
 * Each source runs on its own schedule (its interval on the wall clock, or a node-cron expression), on a manual trigger (POST /sync, SIGHUP) and,
 * for folders, on file changes (chokidar, debounced). A failure backs off with jitter; one
 * broken source never stops another. Triggers that arrive during a reconcile coalesce into one
 * more reconcile right after it.
 */
import { type FSWatcher, watch } from 'chokidar';
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import { intervalToCron } from './config/duration.js';
import type { SourceConfig } from './config/schema.js';
import type { KubeClient } from './kube/types.js';
import { collectWhenIdle } from './memory.js';
import { type ClusterIdentity, groupOf, type KubeObject } from './model/object.js';
import { PRUNE_ANNOTATION } from './prune/select.js';
import { formatRenderError, type RenderError, renderCluster } from './render/index.js';
import { type Backoff, exponentialBackoff } from './report/backoff.js';
import { type AgentInfo, buildReport, SNAPSHOT_KEY } from './report/build.js';
import type { Delivery } from './report/delivery.js';
import type { Outbox } from './report/outbox.js';
import {
  type Drift,
  describeIssues,
  type PreviewStatus,
  parseReport,
  type SourceHealth,
  type SourceStatus,
  type SyncResult,
} from './report/schema.js';
import type { RolloutGatekeeper, RolloutStatus } from './rollout/gatekeeper.js';
import type { AgentMetrics } from './server/metrics.js';
import { sopsModeFor } from './source/decryption-key.js';
import { type GitSource, SourceCorruptError, type SourceState } from './source/git.js';
import { subTree } from './source/subtree.js';
import type { FileTree } from './source/tree.js';
import { reportSections, type SyncPolicy, syncCluster } from './sync/index.js';

/** What render → … → health produced for one commit: the report sections of one source. */
export interface SourceSections {
  sync: SyncResult;
  health: SourceHealth | null;
  drift: Drift[];
}

export interface PipelineInput {
  source: SourceConfig;
  commit: string;
  tree: FileTree;
  log: Logger;
  /** The previous outcome of this source, e.g. to keep health when render fails. */
  previous: SourceSections | null;
}

/** Render → plan → apply → prune → health for one commit of one source (the sync engine behind it). */
export interface Pipeline {
  reconcile(input: PipelineInput): Promise<SourceSections>;
}

/** Where a source's commits come from: a Git cache or a folder. */
export interface SourceAccess {
  readonly state: SourceState;
  fetch(): Promise<SourceState>;
  tree(commit: string): Promise<FileTree> | FileTree;
  /** Drop a damaged cache and fetch again. */
  repair?(): Promise<SourceState>;
  /** The URL as shown in logs and reports (no user info). */
  readonly displayUrl?: string;
}

/**
 * Live previews of pull-request refs (issue 7): called after a main reconcile of a source that has
 * `previewRefs`, apart from the main sync (never awaited by it, one run at a time per source).
 * It must plan with dry-run only and return the status of every watched ref (closed ones too).
 */
export interface PreviewHook {
  run(ctx: {
    source: SourceConfig;
    git: GitSource;
    identity: ClusterIdentity;
    log: Logger;
    previous: PreviewStatus[];
  }): Promise<PreviewStatus[]>;
}

export interface LoopSource {
  config: SourceConfig;
  access: SourceAccess;
  /** The Git cache, for previews. */
  git?: GitSource;
}

export interface LoopOptions {
  identity: ClusterIdentity;
  agent: AgentInfo;
  sources: LoopSource[];
  pipeline: Pipeline;
  outbox: Outbox;
  delivery?: Delivery;
  metrics?: AgentMetrics;
  log: Logger;
  /** Backoff after a failed reconcile: first retry delay and the ceiling. */
  retry?: { minMs: number; maxMs: number };
  previews?: PreviewHook;
  /** Staged rollouts: which commit a source may enforce (agent/src/rollout); absent: always the fetched one. */
  rollout?: RolloutGatekeeper;
  /** Re-check live objects for drift this often, when it is shorter than a source's interval. */
  driftIntervalMs?: number;
  now?: () => Date;
  random?: () => number;
}

export type ReconcileReason = 'start' | 'schedule' | 'manual' | 'watch' | 'retry' | 'drift';

export class ReconcileLoop {
  private readonly runners: SourceRunner[];
  private stopped = false;

  constructor(private readonly opts: LoopOptions) {
    this.runners = opts.sources.map((s) => new SourceRunner(s, opts, () => this.emitReport()));
    // node-cron logs in its own text format; its notes (a missed tick under load) belong in our JSON log.
    const cronLog = opts.log.child({ component: 'node-cron' });
    cron.setLogger({
      info: (m) => cronLog.debug(m),
      warn: (m) => cronLog.debug(m),
      error: (m, err) => cronLog.warn({ err }, String(m)),
      debug: (m) => cronLog.trace(String(m)),
    });
  }

  /** Start schedules and watchers, and reconcile every source once now. */
  start(): void {
    for (const runner of this.runners) runner.start();
  }

  /** Reconcile now (one source by name, or all); resolves with the statuses once done. */
  async trigger(reason: ReconcileReason = 'manual', sourceName?: string): Promise<SourceStatus[]> {
    const chosen = sourceName ? this.runners.filter((r) => r.name === sourceName) : this.runners;
    if (sourceName && chosen.length === 0) throw new UnknownSourceError(sourceName);
    this.opts.delivery?.retryNow();
    await Promise.all(chosen.map((r) => r.run(reason)));
    return chosen.map((r) => r.status);
  }

  /** True once every source has finished its first reconcile. */
  get ready(): boolean {
    return this.runners.every((r) => r.reconciled);
  }

  get sourceNames(): string[] {
    return this.runners.map((r) => r.name);
  }

  statuses(): SourceStatus[] {
    return this.runners.map((r) => r.status);
  }

  /** Stop scheduling and watching; wait for reconciles in flight to finish their current run. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(this.runners.map((r) => r.stop()));
  }

  /** Every report is a full snapshot, written to the outbox before any delivery. */
  private emitReport(): void {
    const { identity, agent, outbox, log } = this.opts;
    const now = (this.opts.now ?? (() => new Date()))();
    const sources = this.runners.map((r) => r.status);
    const previews = this.runners.flatMap((r) => r.previews);
    const seq = outbox.enqueue(SNAPSHOT_KEY, (s) => {
      const report = buildReport(identity, agent, sources, previews, s, now);
      const parsed = parseReport(report);
      if (!parsed.ok)
        log.error({ issues: describeIssues(parsed.issues) }, 'Built a report the hub will refuse.');
      return report;
    });
    log.debug({ seq }, 'Report written to the outbox.');
    this.opts.delivery?.kick();
  }
}

export class UnknownSourceError extends Error {
  constructor(readonly source: string) {
    super(`no source named "${source}"`);
    this.name = 'UnknownSourceError';
  }
}

class SourceRunner {
  status: SourceStatus;
  previews: PreviewStatus[] = [];
  reconciled = false;
  private sections: SourceSections | null = null;
  private rollout: RolloutStatus | null = null;
  private inflight: Promise<void> | undefined;
  private again = false;
  private stopping = false;
  private notBefore = 0;
  private readonly backoff: Backoff;
  private task: ScheduledTask | undefined;
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private driftTimer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private watcher: FSWatcher | undefined;
  private previewRun: Promise<void> | undefined;
  private readonly log: Logger;

  constructor(
    private readonly source: LoopSource,
    private readonly opts: LoopOptions,
    private readonly emitReport: () => void,
  ) {
    const retry = opts.retry ?? { minMs: 1000, maxMs: Math.max(1000, source.config.interval) };
    this.backoff = exponentialBackoff(retry.minMs, retry.maxMs, opts.random);
    this.log = opts.log.child({ source: source.config.name });
    this.status = this.toStatus(source.access.state);
  }

  get name(): string {
    return this.source.config.name;
  }

  start(): void {
    const { config } = this.source;
    if (config.schedule)
      this.task = cron.schedule(config.schedule, () => this.tick(), { name: `strata-${config.name}` });
    else if (intervalToCron(config.interval)) this.onWallClock(config.interval);
    else this.timer = setInterval(() => this.tick(), config.interval);
    if (config.kind === 'folder') this.watchFolder(config.url, config.debounce);
    const drift = this.opts.driftIntervalMs;
    // Every reconcile plans against the live objects, so a drift check is simply an extra reconcile.
    if (drift && drift < config.interval) this.driftTimer = setInterval(() => this.tick('drift'), drift);
    void this.run('start');
  }

  /**
   * Ticks on the local wall clock's multiples of `ms` (every 5 s at :00, :05, …; every 15 min at :00,
   * :15, …), as intervalToCron's expression would under node-cron, but on a plain timer: node-cron
   * reads the time through Intl.DateTimeFormat, and loading ICU's data costs the agent ~6 MB resident.
   */
  private onWallClock(ms: number): void {
    const next = (t: number) => {
      const offset = new Date(t).getTimezoneOffset() * 60_000;
      return (Math.floor((t - offset) / ms) + 1) * ms + offset;
    };
    let due = next(Date.now());
    const arm = () => {
      this.timer = setTimeout(() => {
        if (this.stopping) return;
        this.tick();
        // A timer can fire a moment before `due` by the wall clock: never tick twice for one slot.
        due = next(Math.max(Date.now(), due));
        arm();
      }, due - Date.now());
    };
    arm();
  }

  /** Reconcile now, or once more right after the reconcile in flight. */
  run(reason: ReconcileReason): Promise<void> {
    if (this.stopping) return Promise.resolve();
    if (this.inflight) {
      this.again = true;
      return this.inflight;
    }
    this.inflight = this.loop(reason).finally(() => {
      this.inflight = undefined;
      collectWhenIdle();
    });
    return this.inflight;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.task?.stop();
    clearInterval(this.timer);
    clearTimeout(this.timer);
    clearInterval(this.driftTimer);
    clearTimeout(this.retryTimer);
    clearTimeout(this.debounce);
    await this.watcher?.close();
    await this.inflight;
    await this.previewRun;
  }

  private tick(reason: ReconcileReason = 'schedule'): void {
    if (Date.now() < this.notBefore) return;
    void this.run(reason);
  }

  private async loop(reason: ReconcileReason): Promise<void> {
    let why = reason;
    do {
      this.again = false;
      try {
        await this.once(why);
      } catch (err) {
        // once() handles its own failures; this is a bug, and must not stop the source for good.
        this.log.error({ err }, 'Reconcile crashed.');
      }
      why = 'manual';
    } while (this.again && !this.stopping);
  }

  private async once(reason: ReconcileReason): Promise<void> {
    const started = performance.now();
    const { access, config } = this.source;
    let state = await access.fetch();
    const log = this.log.child({ commit: state.commit ?? undefined, reason });
    const commit = state.commit && (await this.releasedCommit(state.commit, log));
    if (commit) {
      const result = await this.reconcileCommit(commit, log);
      if (result.repaired) state = result.repaired;
      this.sections = result.sections;
    }
    this.status = this.toStatus(state);
    this.reconciled = true;
    const seconds = (performance.now() - started) / 1000;
    this.opts.metrics?.recordReconcile(
      config.name,
      seconds,
      this.status.sync,
      this.status.health,
      state.reachable,
    );
    this.emitReport();
    this.scheduleRetry(state.error !== null || this.sections?.sync.phase === 'Failed' || !state.commit, log);
    log.info(
      { phase: this.status.sync?.phase ?? null, reachable: state.reachable, seconds: round(seconds) },
      'Reconciled.',
    );
    this.startPreviews();
  }

  /** The fetched commit, or under a staged rollout the one released to this cluster (null: none yet). */
  private async releasedCommit(head: string, log: Logger): Promise<string | null> {
    const { rollout } = this.opts;
    if (!rollout) return head;
    const { access, config } = this.source;
    try {
      const choice = await rollout.choose({
        source: config,
        displayUrl: access.displayUrl ?? config.url,
        head,
        tree: await access.tree(head),
        log,
      });
      this.rollout = choice.status;
      return choice.commit;
    } catch (err) {
      // A damaged cache is the reconcile's to repair; anything else must not let the commit through.
      if (err instanceof SourceCorruptError) return head;
      log.error({ err }, 'Rollout check failed; applying nothing new until it succeeds.');
      this.rollout = this.rollout && {
        ...this.rollout,
        waiting: `rollout check failed: ${String((err as Error)?.message ?? err).slice(0, 500)}`,
      };
      return null;
    }
  }

  private async reconcileCommit(
    commit: string,
    log: Logger,
  ): Promise<{ sections: SourceSections; repaired?: SourceState }> {
    const { access, config } = this.source;
    try {
      const tree = await access.tree(commit);
      const sections = await this.opts.pipeline.reconcile({
        source: config,
        commit,
        tree,
        log,
        previous: this.sections,
      });
      return { sections };
    } catch (err) {
      if (err instanceof SourceCorruptError && access.repair) {
        log.warn({ err: err.message }, 'Git cache damaged; fetching again before the next reconcile.');
        const repaired = await access.repair();
        return { sections: this.failedSections(commit, err, 'SourceCorrupt'), repaired };
      }
      log.error({ err }, 'Reconcile failed.');
      return { sections: this.failedSections(commit, err, 'ReconcileError') };
    }
  }

  private failedSections(commit: string, err: unknown, reason: string): SourceSections {
    const finishedAt = (this.opts.now ?? (() => new Date()))().toISOString();
    return {
      sync: {
        phase: 'Failed',
        commit,
        finishedAt,
        created: 0,
        updated: 0,
        pruned: 0,
        unchanged: 0,
        conflicts: [],
        errors: [{ reason, message: String((err as Error)?.message ?? err).slice(0, 4000) }],
      },
      health: this.sections?.health ?? null,
      drift: [],
    };
  }

  private scheduleRetry(failed: boolean, log: Logger): void {
    clearTimeout(this.retryTimer);
    if (!failed) {
      this.backoff.reset();
      this.notBefore = 0;
      return;
    }
    const delay = this.backoff.next();
    this.notBefore = Date.now() + delay;
    log.debug({ delayMs: delay, failures: this.backoff.failures }, 'Backing off before the next reconcile.');
    if (delay < this.source.config.interval && !this.stopping) {
      this.retryTimer = setTimeout(() => void this.run('retry'), delay);
    }
  }

  private startPreviews(): void {
    const { previews, identity } = this.opts;
    const { git, config } = this.source;
    if (!previews || !git || !config.previewRefs || this.previewRun || this.stopping) return;
    const log = this.log.child({ preview: config.previewRefs });
    this.previewRun = previews
      .run({ source: config, git, identity, log, previous: this.previews })
      .then((statuses) => {
        this.previews = statuses;
        this.emitReport();
      })
      .catch((err: unknown) => log.error({ err }, 'Preview run failed.'))
      .finally(() => {
        this.previewRun = undefined;
      });
  }

  private watchFolder(root: string, debounceMs: number): void {
    this.watcher = watch(root, {
      ignoreInitial: true,
      ignored: (p: string) => /(^|[/\\])\.(git|strata)([/\\]|$)/.test(p),
    });
    this.watcher.on('all', () => {
      clearTimeout(this.debounce);
      this.debounce = setTimeout(() => void this.run('watch'), debounceMs);
    });
    this.watcher.on('error', (err) => this.log.warn({ err }, 'Folder watch failed.'));
  }

  private toStatus(state: SourceState): SourceStatus {
    const { config, access } = this.source;
    const s = this.sections;
    return {
      url: access.displayUrl ?? config.url,
      ref: config.kind === 'folder' ? '' : config.ref,
      ...(config.path ? { path: config.path } : {}),
      commit: state.commit,
      fetchedAt: state.fetchedAt,
      reachable: state.reachable,
      error: state.error
        ? { reason: state.error.reason, message: state.error.message, since: state.error.since }
        : null,
      sync: s?.sync ?? null,
      health: s?.health ?? null,
      drift: s?.drift ?? [],
      ...(this.rollout ? { rollout: this.rollout } : {}),
    };
  }
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

export interface EngineOptions {
  client: KubeClient;
  identity: ClusterIdentity;
  /** Namespace of the ApplySet parents (one Secret `strata-<source>` per source). */
  namespace: string;
  policy: Partial<SyncPolicy>;
  /** Kinds that may be pruned (`*`, `group/*`, `group/Kind`); others are applied with `strata.dev/prune: "false"`. */
  pruneAllow?: string[];
  /** Folder for the sync engine's no-op cache. */
  stateDir: string;
}

/** The real pipeline: render (agent/src/render) then plan → apply → prune → health (agent/src/sync). */
export function enginePipeline(engine: EngineOptions): Pipeline {
  return {
    async reconcile({ source, commit, tree, log, previous }) {
      const sops = await sopsModeFor(source.decryption);
      const rendered = await renderCluster(subTree(tree, source.path), engine.identity, {
        ...(sops ? { sops } : {}),
        // Layer namespaces skip the kinds this cluster serves outside namespaces.
        scopeOf: async (apiVersion, kind) => {
          const info = await engine.client.resourceFor(apiVersion, kind);
          return info ? (info.namespaced ? 'Namespaced' : 'Cluster') : undefined;
        },
      });
      if (!rendered.ok) {
        const first = rendered.errors[0];
        log.warn(
          { errors: rendered.errors.length, first: first && formatRenderError(first) },
          'Render failed.',
        );
        // A commit that fails to render is not applied at all, and nothing is pruned.
        return renderFailure(commit, rendered.errors, previous);
      }
      const result = await syncCluster({
        client: engine.client,
        objects: rendered.objects.map((o) => protectFromPrune(o.object, engine.pruneAllow ?? ['*'])),
        applySet: { name: `strata-${source.name}`, namespace: engine.namespace },
        policy: engine.policy,
        stateDir: engine.stateDir,
        log,
      });
      return reportSections(result, commit);
    },
  };
}

/** An object whose kind prune may not touch carries the engine's keep annotation. */
export function protectFromPrune(object: KubeObject, allow: string[]): KubeObject {
  const group = groupOf(object.apiVersion);
  const allowed = allow.some((a) => a === '*' || a === `${group}/*` || a === `${group}/${object.kind}`);
  if (allowed) return object;
  const annotations = { ...object.metadata.annotations, [PRUNE_ANNOTATION]: 'false' };
  return { ...object, metadata: { ...object.metadata, annotations } };
}

function renderFailure(
  commit: string,
  errors: RenderError[],
  previous: SourceSections | null,
): SourceSections {
  return {
    sync: {
      phase: 'Failed',
      commit,
      finishedAt: new Date().toISOString(),
      created: 0,
      updated: 0,
      pruned: 0,
      unchanged: 0,
      conflicts: [],
      errors: errors.slice(0, 1000).map((e) => ({
        reason: 'RenderError',
        message: e.message.slice(0, 4000),
        ...(e.file ? { file: e.file } : {}),
        ...(e.doc !== undefined ? { doc: e.doc } : {}),
        ...(e.line !== undefined ? { line: e.line } : {}),
        ...(e.object ? { object: e.object } : {}),
      })),
    },
    health: previous?.health ?? null,
    drift: [],
  };
}
