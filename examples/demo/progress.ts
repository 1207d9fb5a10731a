/**
 * What the demo prints while it works: one line per step with the seconds since start, lab events
 * turned into short lines, and a ticker while a long step (the control-plane build) runs.
 */
import { Writable } from 'node:stream';
import { type Logger, pino } from 'pino';

export interface Progress {
  /** A step line: `[  12.3s] text`. */
  step(text: string): void;
  /** An indented detail line under the current step. */
  detail(text: string): void;
  /** Plain text, printed as is. */
  print(text: string): void;
  /** Seconds since the demo started. */
  elapsed(): number;
  /** Prints `text (Ns)` every `everyMs` until the returned function is called. */
  ticker(text: string, everyMs?: number): () => void;
  /** A pino logger for the lab API whose events become detail lines. */
  labLogger(): Logger;
}

export function createProgress(write: (text: string) => void, began = Date.now()): Progress {
  const elapsed = () => (Date.now() - began) / 1000;
  const stamp = () => `[${elapsed().toFixed(1).padStart(6)}s]`;
  const progress: Progress = {
    step: (text) => write(`${stamp()} ${text}\n`),
    detail: (text) => write(`${' '.repeat(stamp().length)}   ${text}\n`),
    print: (text) => write(text),
    elapsed,
    ticker: (text, everyMs = 20_000) => {
      const since = Date.now();
      const timer = setInterval(
        () => progress.detail(`${text} (${Math.round((Date.now() - since) / 1000)}s)`),
        everyMs,
      );
      return () => clearInterval(timer);
    },
    labLogger: () => pino({ level: 'info' }, labEvents(progress)),
  };
  return progress;
}

/** A stream taking the lab's pino JSON lines and printing `cluster: component started` etc. */
function labEvents(progress: Progress): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        const text = labLine(line);
        if (text) progress.detail(text);
      }
      done();
    },
  });
}

/** One lab log line as a short sentence, or undefined for lines not worth showing. Exported for tests. */
export function labLine(line: string): string | undefined {
  let event: { msg?: string; cluster?: string; component?: string; seconds?: number; server?: string };
  try {
    event = JSON.parse(line) as typeof event;
  } catch {
    return undefined;
  }
  if (!event.cluster || !event.msg) return undefined;
  if (event.msg === 'started' && event.component) return `${event.cluster}: ${event.component} started`;
  if (event.msg === 'cluster ready') {
    return `${event.cluster}: ready at ${event.server} (${event.seconds?.toFixed(1)}s)`;
  }
  if (event.msg === 'cluster stopped') return `${event.cluster}: stopped`;
  return `${event.cluster}: ${event.msg}`;
}
