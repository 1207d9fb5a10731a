/**
 * Starts the lab clusters (hz, sh, edge) before the e2e project runs and stops them afterwards, in
 * `.lab/e2e-<pid>` so that runs started side by side never stop each other's clusters.
 * With STRATA_LAB_DIR set, uses that lab directory instead: running clusters there are reused,
 * missing ones started, and nothing is stopped at the end (for fast local iteration).
 * A cluster that cannot start fails the whole run: e2e tests never skip silently.
 */
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { pino } from 'pino';
import type { TestProject } from 'vitest/node';
import { labDown, labUp } from '../cluster/lab-api.js';
import { LAB_CLUSTER_NAMES } from './support/lab.js';

const DEFAULT_LAB_DIR = `.lab/e2e-${process.pid}`;

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const reuseDir = process.env.STRATA_LAB_DIR;
  const dir = resolve(reuseDir || DEFAULT_LAB_DIR);
  const log = pino({ level: process.env.STRATA_LAB_LOG ?? 'info' }, pino.destination(2)).child({ lab: dir });
  const began = Date.now();
  const clusters = await labUp({ names: [...LAB_CLUSTER_NAMES], dir, log });
  log.info({ seconds: (Date.now() - began) / 1000, clusters: clusters.map((c) => c.name) }, 'lab ready');
  project.provide('strataLab', { dir, clusters });
  if (reuseDir) return undefined;
  return async () => {
    await labDown(dir, log);
    // Logs stay only when a run failed to stop cleanly; a clean run leaves nothing behind.
    rmSync(dir, { recursive: true, force: true });
  };
}
