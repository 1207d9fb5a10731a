/**
 * V8 heap settings for the long-running agent. Node's defaults suit short, throughput-bound
 * programs: a young generation that grows to 32 MB, and an old generation left to grow several
 * times its live size before a full collection. For an agent that idles between reconciles that is
 * over 100 MB of resident garbage. The agent sets its own limits at start, so they hold however it
 * is launched (the image, the npm bin, `node dist/agent/src/cli.js`); both are growth rules, not
 * ceilings, so a large sync still gets the memory it needs.
 */
import v8 from 'node:v8';

export const AGENT_HEAP_FLAGS = [
  // Keep the young generation at its starting size (two 1 MB semi-spaces) instead of 32 MB.
  '--semi-space-growth-factor=1',
  // Collect the old generation when it grows 20% past the live size of the last full collection.
  '--heap-growing-percent=20',
] as const;

/**
 * Applies AGENT_HEAP_FLAGS unless the operator tuned the same setting on the command line or in
 * NODE_OPTIONS (their choice wins). Returns the flags applied.
 */
export function tuneHeapForAgent(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? '',
): string[] {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].map((f) => f.replace(/_/g, '-'));
  const overridden = (name: string) =>
    given.some((f) => f.startsWith(name)) ||
    (name === '--semi-space-growth-factor' && given.some((f) => f.startsWith('--max-semi-space-size')));
  const applied: string[] = [];
  for (const flag of AGENT_HEAP_FLAGS) {
    const name = flag.slice(0, flag.indexOf('='));
    if (overridden(name)) continue;
    v8.setFlagsFromString(flag);
    applied.push(flag);
  }
  return applied;
}
