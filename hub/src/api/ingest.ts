/**
 * Group commit: reports that arrive in the same turn of the event loop are written in one
 * transaction (one fsync), and each request is answered only after that transaction committed.
 */
import type { IncomingReport, SaveOutcome, Store } from '../store/store.js';

interface Pending {
  item: IncomingReport;
  resolve(outcome: SaveOutcome): void;
  reject(err: unknown): void;
}

export class ReportWriter {
  private queue: Pending[] = [];
  private scheduled = false;

  constructor(
    private readonly store: Store,
    private readonly maxBatch = 500,
  ) {}

  /** Resolves once the report is durably stored (or recognised as a duplicate or stale). */
  save(item: IncomingReport): Promise<SaveOutcome> {
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
      const outcomes = await this.store.saveReports(batch.map((p) => p.item));
      for (const [i, p] of batch.entries()) p.resolve(outcomes[i]!);
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
    if (this.queue.length > 0) setImmediate(() => void this.flush());
    else this.scheduled = false;
  }
}
