import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeDurable } from '../persist/durable.js';

/** What the last verified sync saw of one object. */
export interface CacheEntry {
  desiredHash: string;
  /** Hash of the normalised live object (status and server bookkeeping left out). */
  liveHash: string;
}

/** Per-ApplySet memory of verified objects: lets a no-op reconcile skip every dry-run. */
export interface SyncCache {
  version: 1;
  applySetId: string;
  /** Reconciles since the cache was created; every N-th one re-verifies everything. */
  cycle: number;
  entries: Record<string, CacheEntry>;
}

/** A no-op cache with nothing in it, for an ApplySet seen for the first time. */
export function emptyCache(applySetId: string): SyncCache {
  return { version: 1, applySetId, cycle: 0, entries: {} };
}

/** Where the no-op cache of one ApplySet lives under the state folder. */
export function cacheFile(stateDir: string, applySetName: string): string {
  return path.join(stateDir, `sync-cache-${applySetName.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
}

/** A missing, unreadable or foreign cache is an empty one: the cost is a full verify, never a wrong answer. */
export async function loadCache(file: string, applySetId: string): Promise<SyncCache> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as SyncCache;
    if (
      parsed.version === 1 &&
      parsed.applySetId === applySetId &&
      parsed.entries &&
      typeof parsed.cycle === 'number'
    ) {
      return parsed;
    }
  } catch {
    // fall through to an empty cache
  }
  return emptyCache(applySetId);
}

/** Written durably (temp file, fsync, rename), so a crash leaves the old cache or the new one. */
export async function saveCache(file: string, cache: SyncCache): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeDurable(file, JSON.stringify(cache));
}
