/**
 * Delivery: sends the outbox's reports to the hub one at a time, oldest first, so the hub sees
 * them in seq order. A failure backs off exponentially with jitter; the report stays on disk
 * until the hub has it. A report the hub can never accept is set aside (kept, logged), not lost.
 */
import type { Logger } from 'pino';
import { type Backoff, exponentialBackoff } from './backoff.js';
import type { SendReport } from './hub-client.js';
import { type Outbox, OutboxStorageError } from './outbox.js';

/** How the outbox is drained to the hub: the sender, backoff and clock. */
export interface DeliveryOptions {
  outbox: Outbox;
  send: SendReport;
  minBackoffMs: number;
  maxBackoffMs: number;
  log: Logger;
  random?: () => number;
  /** Called after every attempt, e.g. to update metrics. */
  onAttempt?: (ok: boolean) => void;
}

/** Sends outbox reports to the hub in order, retrying with backoff until the hub takes them. */
export class Delivery {
  private running = false;
  private wake: (() => void) | undefined;
  private pump: Promise<void> | undefined;
  private readonly backoff: Backoff;
  private lastError: string | undefined;

  constructor(private readonly opts: DeliveryOptions) {
    this.backoff = exponentialBackoff(opts.minBackoffMs, opts.maxBackoffMs, opts.random);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.pump = this.run();
  }

  /** A new report is waiting: send now unless backing off from a failure. */
  kick(): void {
    if (this.backoff.failures === 0) this.wake?.();
  }

  /** Retry now, even while backing off (e.g. on a manual sync). */
  retryNow(): void {
    this.wake?.();
  }

  /** The last delivery error while failing, for status pages. */
  get error(): string | undefined {
    return this.lastError;
  }

  /** Stop the background pump, then try to deliver everything within `timeoutMs`; true when empty. */
  async flush(timeoutMs: number): Promise<boolean> {
    await this.stop();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const entry = this.opts.outbox.peek();
      if (!entry) return true;
      const ok = await this.attempt(entry.seq, entry.report);
      if (!ok) return false;
    }
    return this.opts.outbox.peek() === undefined;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.pump;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let ok: boolean;
      try {
        const entry = this.opts.outbox.peek();
        if (!entry) {
          await this.sleep(60_000);
          continue;
        }
        ok = await this.attempt(entry.seq, entry.report);
      } catch (err) {
        // The outbox file failed under us (a disk error): the pump keeps going, the report stays.
        this.lastError = String((err as Error)?.message ?? err);
        this.opts.log.error({ err }, 'Report delivery step failed; retrying with backoff.');
        ok = false;
      }
      if (!ok && this.running) await this.sleep(this.backoff.next());
    }
  }

  /** One send; true when the queue may move on (delivered or set aside). */
  private async attempt(seq: number, report: Parameters<SendReport>[0]): Promise<boolean> {
    const { outbox, log } = this.opts;
    const result = await this.opts.send(report);
    this.opts.onAttempt?.(result.ok);
    if (result.ok) {
      outbox.ack(seq);
      if (this.backoff.failures > 0) log.info({ seq }, 'Hub reachable again; delivering the outbox.');
      this.backoff.reset();
      this.lastError = undefined;
      return true;
    }
    if (!result.retry) {
      try {
        outbox.reject(seq, result.reason);
      } catch (err) {
        // Not set aside yet (the file cannot be written): it stays first in line and is tried again.
        if (err instanceof OutboxStorageError) return false;
        throw err;
      }
      log.error(
        { seq, reason: result.reason },
        'Hub refused a report for good; it is kept in the outbox as rejected.',
      );
      return true;
    }
    outbox.recordAttempt(seq);
    this.lastError = result.reason;
    if (this.backoff.failures === 0)
      log.warn({ seq, reason: result.reason }, 'Report delivery failed; retrying with backoff.');
    return false;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
