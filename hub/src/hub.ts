/** Assembles a running hub: the store (SQLite or PostgreSQL), the HTTP server, and the history retention timer. */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { HubSettings } from './api/router.js';
import { createHub, type HubServer, serveHub, type TlsFiles } from './server.js';
import { openStore } from './store/open.js';
import type { RetentionPolicy, Store } from './store/store.js';

/** How to start a hub: the database, the listen address, settings and retention. */
export interface HubOptions {
  /** A SQLite file path, or a `postgres://` URL (then any number of hubs may share the database). */
  db: string;
  host: string;
  port: number;
  logger: Logger;
  settings?: Partial<HubSettings>;
  retention?: Partial<RetentionPolicy>;
  synchronous?: 'full' | 'normal';
  /** Serve HTTPS with this certificate and key. */
  tls?: TlsFiles;
}

/** How much history the hub keeps by default: 200 reports per cluster, 30 days. */
export const DEFAULT_RETENTION: RetentionPolicy = { keepReports: 200, maxAgeMs: 30 * 24 * 3600_000 };
const PRUNE_EVERY_MS = 3600_000;

/** A started hub: its server and store, and the way to stop both. */
export interface RunningHub extends HubServer {
  store: Store;
  /** Stops accepting requests, then closes the database. */
  stop(): Promise<void>;
}

/** Opens the store, starts the server and the retention timer. */
export async function startHub(options: HubOptions): Promise<RunningHub> {
  const retention = { ...DEFAULT_RETENTION, ...options.retention };
  const store = await openStore(options.db, {
    retention,
    synchronous: options.synchronous ?? 'full',
    writer: 'thread',
  });
  let hub: ReturnType<typeof createHub>;
  try {
    hub = createHub(store, options.logger, options.settings);
  } catch (err) {
    await store.close();
    throw err;
  }
  const holder = randomUUID();
  // Hubs sharing one database take turns: whoever claims the lease prunes, the others skip this hour.
  const prune = async () => {
    const now = Date.now();
    if (!(await store.claimLease('history-retention', holder, now, PRUNE_EVERY_MS - 60_000))) return;
    const dropped = await store.pruneHistory(now);
    if (dropped > 0) options.logger.info({ dropped }, 'Dropped reports older than the retention period.');
  };
  await prune();
  const timer = setInterval(
    () => void prune().catch((err) => options.logger.error({ err }, 'Pruning failed.')),
    PRUNE_EVERY_MS,
  );
  timer.unref();
  const served = await serveHub(hub, options.host, options.port, options.tls);
  return {
    ...served,
    store,
    stop: async () => {
      clearInterval(timer);
      await served.close();
      await store.close();
    },
  };
}
