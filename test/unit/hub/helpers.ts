/** A real hub on an ephemeral loopback port with a real SQLite file in a temp dir, plus report builders. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { ReportInput } from '../../../contract/report.js';
import { generateToken } from '../../../hub/src/api/auth.js';
import type { HubSettings } from '../../../hub/src/api/router.js';
import { type RunningHub, startHub } from '../../../hub/src/hub.js';
import type { RetentionPolicy } from '../../../hub/src/store/store.js';

export interface TestHub extends RunningHub {
  dir: string;
  db: string;
  /** Creates a token for `cluster` in the hub's store and returns the bearer string. */
  token(cluster: string): Promise<{ token: string; id: string }>;
  post(token: string | undefined, body: unknown, headers?: Record<string, string>): Promise<Response>;
  get(path: string, headers?: Record<string, string>): Promise<Response>;
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'strata-hub-test-'));
}

export async function startTestHub(
  options: { dir?: string; settings?: Partial<HubSettings>; retention?: Partial<RetentionPolicy> } = {},
): Promise<TestHub> {
  const dir = options.dir ?? tempDir();
  const db = join(dir, 'hub.db');
  const running = await startHub({
    db,
    host: '127.0.0.1',
    port: 0,
    logger: pino({ level: 'silent' }),
    // Reads open unless the test gives a read token: most tests read without one.
    settings: {
      ...(options.settings?.readToken === undefined ? { publicRead: true } : {}),
      ...options.settings,
    },
    retention: options.retention,
  });
  return {
    ...running,
    dir,
    db,
    async token(cluster) {
      const created = generateToken(cluster, new Date());
      await running.store.createToken(created.record);
      return { token: created.token, id: created.record.id };
    },
    post(token, body, headers = {}) {
      return fetch(`${running.url}/api/v1/reports`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...headers,
        },
        body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
      });
    },
    get(path, headers = {}) {
      return fetch(`${running.url}${path}`, { headers });
    },
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export const COMMIT_A = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
export const COMMIT_B = 'b2c3d4e5f60718293a4b5c6d7e8f901234567890';

type Phase = 'Synced' | 'OutOfSync' | 'Progressing' | 'Degraded' | 'Failed';
type Health = 'Healthy' | 'Progressing' | 'Degraded' | 'Unknown';

/** A valid report of one source, as an agent would send it. */
export function makeReport(
  cluster: string,
  seq: number,
  options: {
    labels?: Record<string, string>;
    commit?: string;
    fetched?: string;
    phase?: Phase;
    health?: Health;
    message?: string;
    reachable?: boolean;
    objects?: number;
  } = {},
): ReportInput {
  const commit = options.commit ?? COMMIT_A;
  const now = new Date().toISOString();
  return {
    cluster,
    labels: options.labels ?? { env: 'prod', region: 'eu' },
    seq,
    createdAt: now,
    agent: { version: '0.1.0', startedAt: now },
    sources: [
      {
        url: 'https://git.example.com/fleet.git',
        ref: 'main',
        commit: options.fetched ?? commit,
        fetchedAt: now,
        reachable: options.reachable ?? true,
        error: null,
        sync: {
          phase: options.phase ?? 'Synced',
          commit,
          finishedAt: now,
          created: 0,
          updated: 1,
          pruned: 0,
          unchanged: 41,
          conflicts: [],
          errors:
            options.phase === 'Failed'
              ? [{ message: 'apply failed', object: 'apps/Deployment/shop/web' }]
              : [],
        },
        health: {
          status: options.health ?? 'Healthy',
          objects: Array.from({ length: options.objects ?? 2 }, (_, i) => ({
            id: `apps/Deployment/shop/web-${i}`,
            status: 'Current' as const,
            message: options.message ?? '',
          })),
        },
        drift: [],
      },
    ],
    previews: [],
  };
}
