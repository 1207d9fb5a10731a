/**
 * The reconcile loop: for each source, fetch → render → plan → apply → prune → health → report.
 * Each source runs on its own schedule (its interval on the wall clock, or a node-cron expression), on a manual trigger (POST /sync, SIGHUP) and,
 * for folders, on file changes (chokidar, debounced). A failure backs off with jitter; one
 * broken source never stops another. Triggers that arrive during a reconcile coalesce into one
 * more reconcile right after it. This file holds the fleet of per-source runners and the report
 * they share; source-runner.ts runs one source.
 */
import cron from 'node-cron';
import { describeIssues, parseReport, type SourceStatus } from '../../../contract/report.js';
import { buildReport, SNAPSHOT_KEY } from '../report/build.js';
import { OutboxStorageError } from '../report/outbox.js';
import { SourceRunner } from './source-runner.js';
import type { LoopOptions, ReconcileReason } from './types.js';

/** How soon a report the outbox could not store (a full disk) is built and written again. */
const REWRITE_MS = 2000;

/**
 * Runs every source on its schedule, on triggers and watches, one reconcile per source at a time.
 */
export class ReconcileLoop {
  private readonly runners: SourceRunner[];
  private stopped = false;
  private rewrite: NodeJS.Timeout | undefined;

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
    clearTimeout(this.rewrite);
    await Promise.all(this.runners.map((r) => r.stop()));
  }

  /** Every report is a full snapshot, written to the outbox before any delivery. */
  private emitReport(): void {
    const { identity, agent, outbox, log } = this.opts;
    const now = (this.opts.now ?? (() => new Date()))();
    const sources = this.runners.map((r) => r.status);
    const previews = this.runners.flatMap((r) => r.previews);
    let seq: number;
    try {
      seq = outbox.enqueue(SNAPSHOT_KEY, (s) => {
        const report = buildReport(identity, agent, sources, previews, s, now, this.opts.capabilities?.());
        const parsed = parseReport(report);
        if (!parsed.ok)
          log.error({ issues: describeIssues(parsed.issues) }, 'Built a report the hub will refuse.');
        return report;
      });
    } catch (err) {
      if (!(err instanceof OutboxStorageError)) throw err;
      // Reconciles go on; the snapshot is built afresh (it is the whole state) once the disk has room.
      if (!this.rewrite && !this.stopped) {
        log.error(
          { err: err.message, retryMs: REWRITE_MS },
          'Report not written: the outbox cannot be written.',
        );
        this.rewrite = setTimeout(() => {
          this.rewrite = undefined;
          this.emitReport();
        }, REWRITE_MS);
      }
      return;
    }
    clearTimeout(this.rewrite);
    this.rewrite = undefined;
    log.debug({ seq }, 'Report written to the outbox.');
    this.opts.delivery?.kick();
  }
}

/** A trigger named a source the agent does not have (POST /sync answers 404). */
export class UnknownSourceError extends Error {
  constructor(readonly source: string) {
    super(`no source named "${source}"`);
    this.name = 'UnknownSourceError';
  }
}
