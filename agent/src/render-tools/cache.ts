import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { every, type PruneLimits, pruneFolder, touch } from './prune.js';

/** Tool outputs by key: in memory (bounded), and on disk when a folder is given. */
export interface RenderCache {
  get(key: string): Promise<string | undefined>;
  set(key: string, output: string): Promise<void>;
}

/** Enough for the charts and overlays of a real fleet repository, small beside the agent's heap limit. */
const MEMORY_BYTES = 64 * 1024 * 1024;

/**
 * The folder's bounds: a fortnight unused, 256 MiB in all. An output pruned is rendered again
 * the next time it is needed (one tool run), so the bounds only trade disk for CPU.
 */
export const RENDER_CACHE_LIMITS: PruneLimits = { maxAgeMs: 14 * 24 * 3600_000, maxBytes: 256 * 1024 ** 2 };

/** Pruning runs at the first write and then at most this often; a use refreshes a file's mtime at most this often. */
const PRUNE_EVERY_MS = 10 * 60_000;
const TOUCH_EVERY_MS = 60 * 60_000;

/**
 * The cache of tool renders by their inputs, in memory and (with a folder) on disk across
 * restarts, the folder kept within `limits`.
 */
export function createRenderCache(
  dir?: string,
  limits: PruneLimits = RENDER_CACHE_LIMITS,
  now: () => number = Date.now,
): RenderCache {
  const memory = new Map<string, string>();
  let bytes = 0;
  const prune = every(PRUNE_EVERY_MS, () => pruneFolder(dir!, '.out', limits, now()), now);
  // An output served from memory still counts as used on disk, so a long-running agent's pruning
  // never takes what it keeps using (it would only cost a render after a restart, but needlessly).
  const touched = new Map<string, number>();
  const used = (key: string) => {
    if (!dir || now() - (touched.get(key) ?? Number.NEGATIVE_INFINITY) < TOUCH_EVERY_MS) return;
    touched.set(key, now());
    void touch(fileOf(key), now());
  };
  const remember = (key: string, output: string) => {
    if (output.length > MEMORY_BYTES) return;
    const earlier = memory.get(key);
    if (earlier !== undefined) bytes -= earlier.length;
    memory.delete(key);
    memory.set(key, output);
    bytes += output.length;
    // Oldest first: Map keeps insertion order, and a hit re-inserts.
    for (const [k, v] of memory) {
      if (bytes <= MEMORY_BYTES) break;
      memory.delete(k);
      bytes -= v.length;
    }
  };
  const fileOf = (key: string) => join(dir!, `${key}.out`);
  return {
    async get(key) {
      const hit = memory.get(key);
      if (hit !== undefined) {
        memory.delete(key);
        memory.set(key, hit);
        used(key);
        return hit;
      }
      if (!dir) return undefined;
      try {
        const text = await readFile(fileOf(key), 'utf8');
        remember(key, text);
        used(key);
        return text;
      } catch {
        return undefined;
      }
    },
    async set(key, output) {
      remember(key, output);
      if (!dir) return;
      await mkdir(dir, { recursive: true });
      // Write then rename: a crash never leaves a half-written output under a valid key.
      const tmp = `${fileOf(key)}.${process.pid}.tmp`;
      await writeFile(tmp, output);
      await rename(tmp, fileOf(key));
      touched.set(key, now());
      await prune();
    },
  };
}
