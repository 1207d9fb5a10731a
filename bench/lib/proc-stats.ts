/** CPU time and memory of running processes, read from /proc (Linux). */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times; 100 on every Linux this runs on. */
const CLK_TCK = 100;

/** User + system CPU seconds a process (and its reaped children) has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime, stime, cutime, cstime are fields 14–17 of stat(5); index 0 here is field 3.
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
  return ticks / CLK_TCK;
}

export interface Memory {
  /** Resident now, bytes. */
  rss: number;
  /** Peak resident (VmHWM) since the process started, bytes. */
  peak: number;
}

export function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** Sums over a tool's processes (Flux is two). */
export const totalCpu = (pids: number[]) => pids.reduce((s, p) => s + cpuSeconds(p), 0);
export function totalMemory(pids: number[]): Memory {
  return pids
    .map(memoryOf)
    .reduce((a, b) => ({ rss: a.rss + b.rss, peak: a.peak + b.peak }), { rss: 0, peak: 0 });
}

/** Samples total RSS of `pids` every `everyMs` until stopped; keeps the lowest and highest sample. */
export function sampleMemory(pids: number[], everyMs = 250): { stop(): { low: number; high: number } } {
  let low = Number.POSITIVE_INFINITY;
  let high = 0;
  const take = () => {
    try {
      const { rss } = totalMemory(pids);
      low = Math.min(low, rss);
      high = Math.max(high, rss);
    } catch {
      // A process that just exited: the run that owns it reports the failure.
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return { low, high };
    },
  };
}
