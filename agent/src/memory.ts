/**
 * V8 settings for the long-running agent (an agent lives for months on small edge nodes, so its resident memory matters). Node's defaults suit short,
 * throughput-bound programs: a young generation that grows to 32 MB, an old generation left to grow
 * several times its live size before a full collection, and the optimising compiler. For an agent
 * that idles between I/O-bound reconciles that is over 100 MB of resident garbage and compiled code.
 * The agent sets these itself at start, so they hold however it is launched (the image, the npm
 * bin, `node dist/agent/src/cli.js`). The heap settings are growth rules, not ceilings: a large
 * sync still gets the memory it needs (10,000 objects peak near 190 MB).
 */
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

/** The V8 flags the agent runs with, to keep its resident memory small. */
export const AGENT_V8_FLAGS = [
  // Keep the young generation at its starting size (two 1 MB semi-spaces) instead of 32 MB.
  '--semi-space-growth-factor=1',
  // Collect the old generation when it grows 20% past the live size of the last full collection.
  '--heap-growing-percent=20',
  // Stop at the baseline compiler (Sparkplug): no optimising compiler code, zones or optimised code.
  // A reconcile waits on the apiserver and Git, so its time hardly changes; RSS drops 5-10 MB.
  '--max-opt=1',
] as const;

/**
 * Applies AGENT_V8_FLAGS unless the operator tuned the same setting on the command line or in
 * NODE_OPTIONS (their choice wins). Returns the flags applied.
 */
export function tuneV8ForAgent(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? '',
): string[] {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].map((f) => f.replace(/_/g, '-'));
  const overridden = (name: string) =>
    given.some((f) => f.startsWith(name)) ||
    (name === '--semi-space-growth-factor' && given.some((f) => f.startsWith('--max-semi-space-size'))) ||
    (name === '--max-opt' && given.some((f) => /^--(no-)?(opt|turbofan|jitless)\b/.test(f)));
  const applied: string[] = [];
  for (const flag of AGENT_V8_FLAGS) {
    const name = flag.slice(0, flag.indexOf('='));
    if (overridden(name)) continue;
    v8.setFlagsFromString(flag);
    applied.push(flag);
  }
  // V8's gc(), for collectWhenIdle: the flag only installs it in contexts made from now on.
  v8.setFlagsFromString('--expose-gc');
  collect = runInNewContext('gc') as () => void;
  return applied;
}

let collect: (() => void) | undefined;
let idleTimer: NodeJS.Timeout | undefined;

/**
 * A full garbage collection shortly after a burst of work (a reconcile) ends, so the agent idles at
 * its live heap rather than at the garbage of its last reconcile until V8's memory reducer gets to
 * it (8 s or more later, ~13 MB for 1,000 objects). Each call restarts the delay; a no-op unless
 * tuneV8ForAgent ran (the agent). A full collection of the agent's heap takes a few milliseconds.
 */
export function collectWhenIdle(delayMs = 250): void {
  if (!collect) return;
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    // Compacting moves the survivors together so the emptied pages go back to the system.
    v8.setFlagsFromString('--compact-on-every-full-gc');
    collect?.();
    v8.setFlagsFromString('--no-compact-on-every-full-gc');
  }, delayMs).unref();
}
