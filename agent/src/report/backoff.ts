/** Exponential backoff with jitter, shared by report delivery and the reconcile loop. */
export interface Backoff {
  /** Delay before the next try; grows after each call until `reset()`. */
  next(): number;
  reset(): void;
  readonly failures: number;
}

/**
 * Delays double from `minMs` up to `maxMs`; each one is drawn from [delay/2, delay] so that many
 * agents recovering from the same outage do not retry in lockstep.
 */
export function exponentialBackoff(
  minMs: number,
  maxMs: number,
  random: () => number = Math.random,
): Backoff {
  let failures = 0;
  return {
    next() {
      const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(failures, 30));
      failures++;
      return Math.round(ceiling / 2 + random() * (ceiling / 2));
    },
    reset() {
      failures = 0;
    },
    get failures() {
      return failures;
    },
  };
}
