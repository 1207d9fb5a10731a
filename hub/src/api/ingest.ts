/**
 * Group commit: reports (and, separately, heartbeats) that arrive in the same turn of the event loop
 * are written in one transaction (one fsync), and each request is answered only after that
 * transaction committed.
 */
import type {
  HeartbeatOutcome,
  IncomingHeartbeat,
  IncomingReport,
  SaveOutcome,
  Store,
} from '../store/store.js';

interface Pending<I, O> {
  item: I;
  resolve(outcome: O): void;
  reject(err: unknown): void;
}

/** Collects items until the event loop turns, then writes them as one batch. */
class GroupCommit<I, O> {
  private queue: Pending<I, O>[] = [];
  private scheduled = false;

  constructor(
    private readonly write: (batch: I[]) => Promise<O[]>,
    private readonly maxBatch: number,
  ) {}

  save(item: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0, this.maxBatch);
    try {
      const outcomes = await this.write(batch.map((p) => p.item));
      for (const [i, p] of batch.entries()) p.resolve(outcomes[i]!);
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
    if (this.queue.length > 0) setImmediate(() => void this.flush());
    else this.scheduled = false;
  }
}

/** Writes incoming reports to the store in group commits, so many agents share one transaction. */
export class ReportWriter {
  private readonly reports: GroupCommit<IncomingReport, SaveOutcome>;
  private readonly heartbeats: GroupCommit<IncomingHeartbeat, HeartbeatOutcome>;

  constructor(store: Store, maxBatch = 500) {
    this.reports = new GroupCommit((batch) => store.saveReports(batch), maxBatch);
    this.heartbeats = new GroupCommit((batch) => store.saveHeartbeats(batch), maxBatch * 4);
  }

  /** Resolves once the report is durably stored (or recognised as a duplicate or stale). */
  save(item: IncomingReport): Promise<SaveOutcome> {
    return this.reports.save(item);
  }

  /** Resolves once the heartbeat is recorded (or recognised as not moving last-seen). */
  beat(item: IncomingHeartbeat): Promise<HeartbeatOutcome> {
    return this.heartbeats.save(item);
  }
}
