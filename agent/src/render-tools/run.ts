import { createRequire } from 'node:module';
import type { ToolFailureReason, ToolResult } from '../render/tools.js';
import { childEnvironment, type NetworkIsolation, systemBinary, type Workspace } from './sandbox.js';

// Loaded when a tool first runs: node:child_process (with node:net) is a good part of a short
// `strata render`'s start-up, and a render without kustomize or helm never needs it.
const spawn = ((...args: unknown[]) =>
  (createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process')).spawn(
    ...(args as Parameters<typeof import('node:child_process').spawn>),
  )) as typeof import('node:child_process').spawn;

/** Ceilings for one run of kustomize or helm. */
export interface ToolLimits {
  /** Wall time before the child's whole process group is killed. */
  wallMs: number;
  /** Address-space limit (RLIMIT_AS) of the child. */
  memoryBytes: number;
  /** Largest stdout accepted; the child is killed as soon as it writes more. */
  outputBytes: number;
}

/**
 * Generous for real charts and overlays (the largest ones here render in a few seconds, in well under
 * 200 MB), yet far below what a template loop or a YAML alias bomb would take.
 */
export const DEFAULT_TOOL_LIMITS: ToolLimits = {
  wallMs: 60_000,
  memoryBytes: 2 * 1024 ** 3,
  outputBytes: 64 * 1024 ** 2,
};

const STDERR_KEPT = 16 * 1024;
const MESSAGE_LINES = 12;

/** How the child is started: `prlimit` caps its memory, `unshare -rn` takes its network away. */
function commandLine(
  binary: string,
  args: readonly string[],
  limits: ToolLimits,
  isolation: NetworkIsolation,
) {
  const unshare = systemBinary('unshare');
  const inner =
    isolation === 'namespace' && unshare ? [unshare, '-rn', '--', binary, ...args] : [binary, ...args];
  const prlimit = systemBinary('prlimit');
  if (prlimit) return { file: prlimit, args: [`--as=${limits.memoryBytes}`, '--core=0', '--', ...inner] };
  // Without util-linux: the shell's ulimit sets the same RLIMIT_AS (in KiB) before exec.
  const kib = Math.floor(limits.memoryBytes / 1024);
  return { file: '/bin/sh', args: ['-c', `ulimit -v ${kib} && exec "$@"`, 'sh', ...inner] };
}

/** The tool's own words, without the throw-away folder's path (people know the repository's paths). */
function cleanMessage(stderr: string, ws: Workspace): string {
  const text = stderr.split(`${ws.copy}/`).join('').split(ws.copy).join('.').split(ws.root).join('');
  const lines = text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '');
  const kept = lines.slice(0, MESSAGE_LINES);
  if (lines.length > MESSAGE_LINES) kept.push(`… (${lines.length - MESSAGE_LINES} more lines)`);
  return kept.join('\n');
}

const looksOutOfMemory = (stderr: string) =>
  /out of memory|cannot allocate memory|runtime: mmap|failed to reserve/i.test(stderr);

/** Runs one tool process in a workspace under the limits; resolves, never rejects for the child's faults. */
export function runInWorkspace(
  binary: string,
  args: readonly string[],
  ws: Workspace,
  limits: ToolLimits,
  isolation: NetworkIsolation,
): Promise<ToolResult> {
  const cmd = commandLine(binary, args, limits, isolation);
  return new Promise((resolve) => {
    const child = spawn(cmd.file, cmd.args, {
      cwd: ws.copy,
      env: childEnvironment(ws, isolation),
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so a timeout kills whatever the tool started too.
      detached: true,
    });
    const out: Buffer[] = [];
    let outBytes = 0;
    let stderr = '';
    let killedFor: ToolFailureReason | undefined;
    const kill = (reason: ToolFailureReason) => {
      if (killedFor) return;
      killedFor = reason;
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => kill('timeout'), limits.wallMs);
    child.stdout.on('data', (chunk: Buffer) => {
      if (killedFor) return;
      outBytes += chunk.byteLength;
      if (outBytes > limits.outputBytes) kill('output');
      else out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < STDERR_KEPT) stderr += chunk.toString('utf8').slice(0, STDERR_KEPT - stderr.length);
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, reason: 'unavailable', message: `cannot start ${binary}: ${e.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (killedFor === 'timeout') {
        resolve({
          ok: false,
          reason: 'timeout',
          message: `did not finish within ${limits.wallMs / 1000} s; killed`,
        });
      } else if (killedFor === 'output') {
        resolve({
          ok: false,
          reason: 'output',
          message: `wrote more than ${limits.outputBytes} bytes of output; killed`,
        });
      } else if (code === 0) {
        resolve({ ok: true, output: Buffer.concat(out).toString('utf8') });
      } else if (looksOutOfMemory(stderr) || signal === 'SIGKILL') {
        resolve({
          ok: false,
          reason: 'memory',
          message: `ran out of its ${Math.round(limits.memoryBytes / 1024 ** 2)} MiB memory limit; stopped`,
        });
      } else {
        const why = cleanMessage(stderr, ws) || `exited with ${signal ?? `status ${code}`}`;
        resolve({ ok: false, reason: 'failed', message: why });
      }
    });
  });
}
