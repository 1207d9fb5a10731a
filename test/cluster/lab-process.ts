import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** One control-plane process the lab started: its own process group, led by `pid`. */
export interface LabProcess {
  component: string;
  pid: number;
  /** Set once the process has exited (only known for processes started by this Node process). */
  exit?: { code: number | null; signal: string | null };
}

/**
 * Starts `binary component ...args` detached in its own process group (setsid), with stdout and
 * stderr appended to `logFile`, so it outlives the Node process that started it.
 */
export function startProcess(binary: string, component: string, args: string[], logFile: string): LabProcess {
  const log = openSync(logFile, 'a');
  try {
    const child = spawn(binary, [component, ...args], { detached: true, stdio: ['ignore', log, log] });
    if (child.pid === undefined) throw new Error(`lab: could not start ${component} from ${binary}`);
    const started: LabProcess = { component, pid: child.pid };
    child.on('exit', (code, signal) => {
      started.exit = { code, signal };
    });
    child.on('error', (error) => {
      started.exit = { code: null, signal: error.message };
    });
    child.unref();
    return started;
  } finally {
    closeSync(log);
  }
}

/**
 * True when `pid` is alive and is `binary component` — a recycled pid running something else
 * does not count, so the lab never signals a stranger's process.
 */
export function isLabProcess(pid: number, binary: string, component: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const zombie = / Z /.test(state.slice(state.lastIndexOf(')')));
    return !zombie && argv[0] === binary && argv[1] === component;
  } catch {
    return false;
  }
}

/**
 * Stops the process groups led by `pids` (SIGTERM, then SIGKILL after `graceMs`) and waits
 * until none is left. Only groups whose leader is still `binary` are signalled.
 */
export async function stopProcesses(
  processes: { pid: number; component: string }[],
  binary: string,
  graceMs = 10_000,
): Promise<void> {
  const ours = processes.filter((p) => isLabProcess(p.pid, binary, p.component));
  for (const p of ours) signalGroup(p.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && ours.some((p) => groupAlive(p.pid))) await sleep(100);
  for (const p of ours) if (groupAlive(p.pid)) signalGroup(p.pid, 'SIGKILL');
  const reaped = Date.now() + 5_000;
  while (Date.now() < reaped && ours.some((p) => groupAlive(p.pid))) await sleep(50);
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** A group is alive while any member exists, zombies included (their parent reaps them soon). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resident set size of a process in bytes, from /proc, or undefined when it is gone. */
export function residentBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kib === undefined ? undefined : Number(kib) * 1024;
  } catch {
    return undefined;
  }
}
