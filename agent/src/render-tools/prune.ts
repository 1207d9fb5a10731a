import { readdir, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';

/** How much a cache folder in the state directory may hold. */
export interface PruneLimits {
  /** Files not used for this long are removed. */
  maxAgeMs: number;
  /** Past this total, the least recently used files are removed until it fits. */
  maxBytes: number;
}

/** Half-written files (`*.tmp`) older than this belong to a process that died mid-write. */
const STALE_TMP_MS = 60 * 60_000;

/**
 * Removes from `dir` the files ending in `suffix` that were not used within `maxAgeMs`, then the
 * least recently used ones until the rest fit in `maxBytes`, and stale `.tmp` files. "Used" is the
 * file's mtime, which readers refresh (`touch`). Returns the names removed; a file that vanishes
 * meanwhile, or a folder that does not exist, is not an error.
 */
export async function pruneFolder(
  dir: string,
  suffix: string,
  limits: PruneLimits,
  now: number = Date.now(),
): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const files: { name: string; size: number; used: number }[] = [];
  const removed: string[] = [];
  const remove = async (name: string) => {
    await rm(join(dir, name), { force: true });
    removed.push(name);
  };
  for (const name of names) {
    const info = await stat(join(dir, name)).catch(() => undefined);
    if (!info?.isFile()) continue;
    if (name.endsWith('.tmp')) {
      if (now - info.mtimeMs > STALE_TMP_MS) await remove(name);
    } else if (name.endsWith(suffix)) {
      if (now - info.mtimeMs > limits.maxAgeMs) await remove(name);
      else files.push({ name, size: info.size, used: info.mtimeMs });
    }
  }
  let total = files.reduce((sum, f) => sum + f.size, 0);
  files.sort((a, b) => a.used - b.used || a.name.localeCompare(b.name));
  for (const f of files) {
    if (total <= limits.maxBytes) break;
    await remove(f.name);
    total -= f.size;
  }
  return removed;
}

/** Marks a file used now (its mtime), so pruning keeps it; a missing file is fine. */
export async function touch(file: string, now: number = Date.now()): Promise<void> {
  const at = new Date(now);
  await utimes(file, at, at).catch(() => {});
}

/** Runs `task` at most once per `everyMs` (the first call runs it), never two at once. */
export function every(everyMs: number, task: () => Promise<unknown>, now: () => number = Date.now) {
  let last = Number.NEGATIVE_INFINITY;
  let running: Promise<unknown> | undefined;
  return (): Promise<unknown> => {
    if (running || now() - last < everyMs) return running ?? Promise.resolve();
    last = now();
    running = task()
      .catch(() => {})
      .finally(() => {
        running = undefined;
      });
    return running;
  };
}
