import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Logger } from 'pino';
import type { ToolJob, ToolName, ToolResult, ToolRunner } from '../render/tools.js';
import { createRenderCache, type RenderCache } from './cache.js';
import { DEFAULT_TOOL_LIMITS, runInWorkspace, type ToolLimits } from './run.js';
import { createWorkspace, networkIsolation } from './sandbox.js';

/** Paths of the kustomize and helm binaries; a missing one is looked up on PATH. */
export type ToolBinaries = Partial<Record<ToolName, string>>;

/** How tools run: binaries, the sandbox and the limits of one run. */
export interface ToolRunnerOptions {
  /** Absolute paths of the binaries; a tool without one is reported as unavailable where it is used. */
  binaries: ToolBinaries;
  limits?: Partial<ToolLimits>;
  /** Parent of the throw-away working copies (default: the system's temporary folder). */
  workDir?: string;
  /** Keep outputs here too, so a restarted agent does not render again (the agent's state directory). */
  cacheDir?: string;
  /** At most this many tool processes at once (default 2). */
  concurrency?: number;
  log?: Logger;
}

/** A ToolRunner that also says how many processes it started, for tests and benchmarks. */
export interface CountingToolRunner extends ToolRunner {
  readonly stats: { processes: number; cacheHits: number };
}

/** A binary's identity for cache keys: the hash of its bytes, so a rebuilt or upgraded tool renders afresh. */
function binaryHash(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex').slice(0, 32)));
  });
}

/** Bounds how many children run at once: two cores are shared with the agent and everything else. */
function limiter(max: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= max) await new Promise<void>((r) => waiting.push(r));
    running++;
    try {
      return await task();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

/**
 * The real kustomize and helm behind the renderer's ToolRunner: each job in a throw-away copy,
 * without network, under wall-time, memory and output limits, its output cached by the job's key
 * and the binary's hash (in memory, and in `cacheDir` when given). Equal jobs running at once share one process.
 */
export function createToolRunner(options: ToolRunnerOptions): CountingToolRunner {
  const limits = { ...DEFAULT_TOOL_LIMITS, ...options.limits };
  const workDir = options.workDir ?? tmpdir();
  const versions = new Map<string, Promise<string>>();
  const inFlight = new Map<string, Promise<ToolResult>>();
  const cache: RenderCache = createRenderCache(options.cacheDir);
  const limit = limiter(options.concurrency ?? 2);
  const stats = { processes: 0, cacheHits: 0 };

  const versionOf = (binary: string) => {
    let v = versions.get(binary);
    if (!v) {
      v = binaryHash(binary);
      versions.set(binary, v);
    }
    return v;
  };

  const execute = async (binary: string, job: ToolJob): Promise<ToolResult> => {
    const ws = await createWorkspace(workDir, job.files);
    try {
      stats.processes++;
      const started = Date.now();
      const isolation = job.remote ? 'open' : networkIsolation();
      const result = await runInWorkspace(binary, job.args, ws, limits, isolation);
      const remote = job.remote ? { remote: job.remote.refs } : {};
      options.log?.debug({ tool: job.tool, ms: Date.now() - started, ok: result.ok, ...remote }, 'Tool ran.');
      return result;
    } finally {
      await ws.dispose();
    }
  };

  const run = async (job: ToolJob): Promise<ToolResult> => {
    const binary = options.binaries[job.tool];
    if (!binary) {
      return {
        ok: false,
        reason: 'unavailable',
        message: `${job.tool} is not available to this process (no binary configured)`,
      };
    }
    let version: string;
    try {
      version = await versionOf(binary);
    } catch (e) {
      versions.delete(binary);
      return { ok: false, reason: 'unavailable', message: `cannot read ${binary}: ${(e as Error).message}` };
    }
    const key = createHash('sha256').update(`${job.tool}\0${version}\0${job.key}`).digest('hex');
    // A remote base on a branch or tag can move under an unchanged key: never served from the cache.
    const cacheable = job.remote === undefined || job.remote.pinned;
    const cached = cacheable ? await cache.get(key) : undefined;
    if (cached !== undefined) {
      stats.cacheHits++;
      return { ok: true, output: cached };
    }
    let pending = inFlight.get(key);
    if (!pending) {
      pending = limit(() => execute(binary, job)).then(async (result) => {
        if (result.ok && cacheable) await cache.set(key, result.output);
        return result;
      });
      inFlight.set(key, pending);
      pending.finally(() => inFlight.delete(key)).catch(() => {});
    } else stats.cacheHits++;
    return pending;
  };

  return { run, stats };
}
