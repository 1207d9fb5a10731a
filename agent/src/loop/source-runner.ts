import { type FSWatcher, watch } from 'chokidar';
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import { intervalToCron } from '../../../contract/duration.js';
import type { PreviewStatus, SourceStatus } from '../../../contract/report.js';
import { collectWhenIdle } from '../memory.js';
import { type Backoff, exponentialBackoff } from '../report/backoff.js';
import type { RolloutStatus } from '../rollout/gatekeeper.js';
import { SourceCorruptError } from '../source/errors.js';
import type { SourceState } from '../source/state.js';
import { type ReportReason, thrownReportError } from '../sync/report-errors.js';
import { failureSections } from './failure.js';
import type { LoopOptions, LoopSource, ReconcileReason, SourceSections } from './types.js';

/** One source's schedule, watcher, backoff and reconciles, one at a time. */
export class SourceRunner {
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
      // The wall clock can step (NTP, a suspended VM): a slot more than one interval away means it
      // went back, so aim at the next slot of the clock as it now reads instead of waiting it out.
      if (due - Date.now() > ms) due = next(Date.now());
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
    // Backoff is measured on the monotonic clock: a wall clock stepped back must not stall the source.
    if (performance.now() < this.notBefore) return;
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
    const chosen = state.commit ? await this.releasedCommit(state.commit, log) : { commit: null };
    if (chosen.repaired) state = chosen.repaired;
    if (chosen.commit) {
      const result = await this.reconcileCommit(chosen.commit, log);
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
    const failed = state.error !== null || this.sections?.sync.phase === 'Failed' || !state.commit;
    this.scheduleRetry(failed || chosen.repaired !== undefined, log);
    log.info(
      { phase: this.status.sync?.phase ?? null, reachable: state.reachable, seconds: round(seconds) },
      'Reconciled.',
    );
    this.startPreviews();
  }

  /** The fetched commit, or under a staged rollout the one released to this cluster (null: none yet). */
  private async releasedCommit(
    head: string,
    log: Logger,
  ): Promise<{ commit: string | null; repaired?: SourceState }> {
    const { rollout } = this.opts;
    if (!rollout) return { commit: head };
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
      this.opts.metrics?.recordRollout(config.name, choice.status);
      return { commit: choice.commit };
    } catch (err) {
      // Nothing new is applied until the check succeeds: not even a damaged cache lets the fetched
      // commit past the gate (a failed sync of it would also tell the hub it was applied).
      if (err instanceof SourceCorruptError && access.repair) {
        log.warn({ err: err.message }, 'Git cache damaged; fetching again before the rollout check.');
        return { commit: null, repaired: await access.repair() };
      }
      log.error({ err }, 'Rollout check failed; applying nothing new until it succeeds.');
      this.rollout = this.rollout && {
        ...this.rollout,
        waiting: `rollout check failed: ${String((err as Error)?.message ?? err).slice(0, 500)}`,
      };
      return { commit: null };
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
        now: () => this.now(),
      });
      return { sections };
    } catch (err) {
      if (err instanceof SourceCorruptError && access.repair) {
        log.warn({ err: err.message }, 'Git cache damaged; fetching again before the next reconcile.');
        const repaired = await access.repair();
        return { sections: this.failed(commit, err, 'SourceCorrupt'), repaired };
      }
      log.error({ err }, 'Reconcile failed.');
      return { sections: this.failed(commit, err, 'ReconcileError') };
    }
  }

  private failed(commit: string, err: unknown, reason: ReportReason): SourceSections {
    return failureSections(commit, [thrownReportError(err, reason)], this.sections, this.now());
  }

  private now(): Date {
    return (this.opts.now ?? (() => new Date()))();
  }

  private scheduleRetry(failed: boolean, log: Logger): void {
    clearTimeout(this.retryTimer);
    if (!failed) {
      this.backoff.reset();
      this.notBefore = 0;
      return;
    }
    const delay = this.backoff.next();
    this.notBefore = performance.now() + delay;
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
