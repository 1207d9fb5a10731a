/**
 * Counts the lines of a tool's log that match a pattern, reading only what was appended since the
 * last call. `bench:peers` counts reconciles this way inside its no-op window: asking the tool
 * itself (its /metrics) twice a second would charge the tool's CPU for being watched — a few
 * milliseconds per scrape, a sixth of Strata's no-op reconcile at 1,000 objects — which a real
 * Prometheus, scraping every 15 to 60 seconds, does not.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';

export class LogLineCounter {
  private offset = 0;
  private partial = '';
  private count = 0;

  constructor(
    private readonly file: string,
    private readonly pattern: RegExp,
  ) {}

  /** Matching complete lines in the file so far (a line still being written counts once it ends). */
  read(): number {
    if (!existsSync(this.file)) return this.count;
    const fd = openSync(this.file, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size < this.offset) throw new Error(`${this.file}: shrank from ${this.offset} to ${size} bytes`);
      const buf = Buffer.alloc(Math.min(size - this.offset, 64 * 2 ** 20));
      const got = readSync(fd, buf, 0, buf.length, this.offset);
      this.offset += got;
      const lines = (this.partial + buf.subarray(0, got).toString('utf8')).split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) if (this.pattern.test(line)) this.count++;
    } finally {
      closeSync(fd);
    }
    return this.count;
  }
}
