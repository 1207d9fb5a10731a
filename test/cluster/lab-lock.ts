import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Runs `work` while holding `<labDir>/.lock`, so two `up`/`down` calls on one lab directory never
 * start or stop the same cluster at once. A lock whose holder process is gone is taken over.
 */
export async function withLabLock<T>(
  labDir: string,
  work: () => Promise<T>,
  timeoutMs = 600_000,
): Promise<T> {
  mkdirSync(labDir, { recursive: true });
  const lock = join(labDir, '.lock');
  const deadline = Date.now() + timeoutMs;
  while (!tryLock(lock)) {
    const holder = lockHolder(lock);
    if (holder !== undefined && !processAlive(holder)) {
      rmSync(lock, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(`lab: ${lock} is held by pid ${holder ?? '?'} for more than ${timeoutMs / 1000}s`);
    }
    await sleep(250);
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { force: true });
  }
}

function tryLock(lock: string): boolean {
  try {
    const fd = openSync(lock, 'wx');
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

function lockHolder(lock: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(lock, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** True while a process with this pid exists (EPERM: it exists but belongs to someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
