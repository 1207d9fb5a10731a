import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Tool outputs by key: in memory (bounded), and on disk when a folder is given. */
export interface RenderCache {
  get(key: string): Promise<string | undefined>;
  set(key: string, output: string): Promise<void>;
}

/** Enough for the charts and overlays of a real fleet repository, small beside the agent's heap limit. */
const MEMORY_BYTES = 64 * 1024 * 1024;

/**
 * The cache of tool renders by their inputs, in memory and (with a folder) on disk across
 * restarts.
 */
export function createRenderCache(dir?: string): RenderCache {
  const memory = new Map<string, string>();
  let bytes = 0;
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
        return hit;
      }
      if (!dir) return undefined;
      try {
        const text = await readFile(fileOf(key), 'utf8');
        remember(key, text);
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
    },
  };
}
