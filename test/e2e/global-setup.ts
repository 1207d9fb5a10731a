/**
 * Starts the lab clusters (hz, sh, edge) before the e2e project runs and stops them afterwards, in
 * `.lab/e2e-<pid>` so that runs started side by side never stop each other's clusters.
 * With STRATA_LAB_DIR set, uses that lab directory instead: running clusters there are reused,
 * missing ones started, and nothing is stopped at the end (for fast local iteration).
 * A cluster that cannot start fails the whole run: e2e tests never skip silently.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Logger, pino } from 'pino';
import type { TestProject } from 'vitest/node';
import { labDown, labUp } from '../cluster/lab-api.js';
import { processAlive } from '../cluster/lab-lock.js';
import { ensureBundle } from './support/bundle.js';
import { LAB_CLUSTER_NAMES } from './support/lab.js';

const LAB_ROOT = '.lab';
const DEFAULT_LAB_DIR = `${LAB_ROOT}/e2e-${process.pid}`;

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const reuseDir = process.env.STRATA_LAB_DIR;
  const dir = resolve(reuseDir || DEFAULT_LAB_DIR);
  const log = pino({ level: process.env.STRATA_LAB_LOG ?? 'info' }, pino.destination(2)).child({ lab: dir });
  await reapAbandonedLabs(log);
  // The agent and hub tests run the bundled CLI the image ships: never a stale build of it.
  ensureBundle();
  const began = Date.now();
  const clusters = await labUp({ names: [...LAB_CLUSTER_NAMES], dir, log });
  const servers = Object.fromEntries(clusters.map((c) => [c.name, c.server]));
  log.info({ seconds: (Date.now() - began) / 1000, servers }, 'lab clusters ready for e2e tests');
  project.provide('strataLab', { dir, clusters });
  if (reuseDir) return undefined;
  return async () => {
    await labDown(dir, log);
    // Logs stay only when a run failed to stop cleanly; a clean run leaves nothing behind.
    rmSync(dir, { recursive: true, force: true });
  };
}

/** Stops the clusters of earlier runs that were killed before their teardown (their pid is gone). */
async function reapAbandonedLabs(log: Logger): Promise<void> {
  const root = resolve(LAB_ROOT);
  if (!existsSync(root)) return;
  for (const entry of readdirSync(root)) {
    const owner = /^e2e-(\d+)$/.exec(entry)?.[1];
    if (owner === undefined || processAlive(Number(owner))) continue;
    const stopped = await labDown(join(root, entry), log);
    rmSync(join(root, entry), { recursive: true, force: true });
    log.warn({ dir: join(root, entry), stopped }, 'removed the lab of an e2e run that did not tear down');
  }
}
