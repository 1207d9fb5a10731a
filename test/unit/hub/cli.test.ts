/** `strata hub` as a user runs it: real processes, a real database file, and a SIGKILL mid-traffic. */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { generateToken } from '../../../hub/src/api/auth.js';
import { DEFAULT_RETENTION } from '../../../hub/src/hub.js';
import { openSqliteStore } from '../../../hub/src/store/sqlite.js';
import { makeReport, removeDir, tempDir } from './helpers.js';

// Each hub starts a writer thread: generous limits keep a busy shared CI machine from failing them.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

const run = promisify(execFile);
const CLI = ['--import', 'tsx', 'agent/src/cli.ts', 'hub'];
const started: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const d of dirs.splice(0)) removeDir(d);
});

async function strata(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [...CLI, ...args]);
}

/** Starts `strata hub serve` on an ephemeral port and resolves with its URL once it listens. */
async function serve(db: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [
    ...CLI,
    'serve',
    '--db',
    db,
    '--listen',
    '127.0.0.1:0',
    '--public-read',
    '--keep-reports',
    '100000',
  ]);
  started.push(child);
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /"url":"(http:[^"]+)"/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`hub exited with ${code} before listening: ${out}`)));
  });
  return { child, url };
}

function post(url: string, token: string, body: unknown): Promise<Response> {
  return fetch(`${url}/api/v1/reports`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('strata hub CLI', () => {
  it('creates a token shown once, stores only its hash, lists and revokes it', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const db = join(dir, 'hub.db');
    const created = await strata('token', 'create', 'prod-hz', '--db', db);
    const token = created.stdout.trim();
    expect(token).toMatch(/^strata_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const id = token.split('_')[1]!;
    const secret = token.slice(token.lastIndexOf('_') + 1);
    const list = (await strata('token', 'list', '--db', db)).stdout;
    expect(list).toMatch(new RegExp(`^${id}\\tprod-hz\\t.*\\tactive$`, 'm'));
    expect(list).not.toContain(secret);
    for (const file of [db, `${db}-wal`]) {
      try {
        expect(readFileSync(file).includes(secret)).toBe(false);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    expect((await strata('token', 'revoke', id, '--db', db)).stdout).toContain(`revoked ${id}`);
    expect((await strata('token', 'list', '--db', db)).stdout).toMatch(/\trevoked /);
    await expect(strata('token', 'revoke', 'ffffffffffffffff', '--db', db)).rejects.toMatchObject({
      code: 1,
    });
    await expect(strata('token', 'create', 'Not_A_Name', '--db', db)).rejects.toMatchObject({ code: 2 });
  }, 120_000);

  it('honours a token revoked or created by another process from the next request on', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const db = join(dir, 'hub.db');
    const token = (await strata('token', 'create', 'prod-hz', '--db', db)).stdout.trim();
    const id = token.split('_')[1]!;
    const hub = await serve(db);
    expect((await post(hub.url, token, makeReport('prod-hz', 1))).status).toBe(200);
    expect((await post(hub.url, token, makeReport('prod-hz', 2))).status).toBe(200);

    await strata('token', 'revoke', id, '--db', db);
    for (const seq of [3, 4]) {
      const res = await post(hub.url, token, makeReport('prod-hz', seq));
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: string }).error).toMatch(/token revoked/);
    }
    const state = async () =>
      (await (await fetch(`${hub.url}/api/v1/clusters/prod-hz`)).json()) as { cluster: { seq: number } };
    expect((await state()).cluster.seq).toBe(2);

    const fresh = (await strata('token', 'create', 'prod-hz', '--db', db)).stdout.trim();
    expect((await post(hub.url, fresh, makeReport('prod-hz', 5))).status).toBe(200);
    expect((await state()).cluster.seq).toBe(5);
  }, 120_000);

  it('loses no acknowledged report when the hub is SIGKILLed under load', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const db = join(dir, 'hub.db');
    const clusters = Array.from({ length: 8 }, (_, i) => `edge-${i}`);
    const tokens = new Map<string, string>();
    const store = await openSqliteStore(db, { retention: DEFAULT_RETENTION });
    for (const c of clusters) {
      const created = generateToken(c, new Date());
      await store.createToken(created.record);
      tokens.set(c, created.token);
    }
    await store.close();

    const first = await serve(db);
    const acked = new Map<string, number[]>(clusters.map((c) => [c, []]));
    let killed = false;
    const senders = clusters.map(async (cluster) => {
      for (let seq = 1; !killed; seq++) {
        try {
          const res = await post(first.url, tokens.get(cluster)!, makeReport(cluster, seq));
          if (res.status === 200) acked.get(cluster)!.push(seq);
        } catch {
          return; // The hub died mid-request: this one was never acknowledged.
        }
      }
    });
    // Kill once traffic is flowing, with requests of every sender in flight.
    const ackedCount = () => [...acked.values()].reduce((n, s) => n + s.length, 0);
    for (let waited = 0; ackedCount() < 40 && waited < 30_000; waited += 20)
      await new Promise((r) => setTimeout(r, 20));
    first.child.kill('SIGKILL');
    killed = true;
    await Promise.all(senders);
    expect(ackedCount()).toBeGreaterThanOrEqual(40);

    const second = await serve(db);
    for (const cluster of clusters) {
      const res = await fetch(`${second.url}/api/v1/clusters/${cluster}/history?limit=1000`);
      const stored = new Set(
        ((await res.json()) as { history: { seq: number }[] }).history.map((h) => h.seq),
      );
      const lost = acked.get(cluster)!.filter((seq) => !stored.has(seq));
      expect(lost, `acknowledged reports of ${cluster} missing after the crash`).toEqual([]);
    }
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
    expect(second.child.exitCode).toBe(0);
  }, 120_000);
});
