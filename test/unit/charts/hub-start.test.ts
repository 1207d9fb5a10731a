// The hub needs no cluster: start it exactly as the chart's Deployment runs it (the image's entrypoint
// and layout, the container's args and env) and check what its probes and Service rely on.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../support/eventually.js';
import { startPostgres } from '../../support/postgres.js';
import { HELM_BUILD_TIMEOUT_MS, helmBinary, REPO, renderChart } from './helm.js';
import { buildApp, freePort, httpStatus, layOutPod } from './pod.js';

describe('the hub, started as the chart runs it', () => {
  const work = mkdtempSync(join(tmpdir(), 'strata-hub-chart-'));
  const app = join(REPO, '.cache', `hub-chart-${process.pid}`);
  let hub: ChildProcess | undefined;
  let output = '';
  let built: string | undefined;
  const cliOf = () => {
    built ??= buildApp(app);
    return built;
  };

  beforeAll(() => {
    helmBinary();
  }, HELM_BUILD_TIMEOUT_MS);

  afterAll(async () => {
    if (hub && hub.exitCode === null) {
      hub.kill('SIGTERM');
      await new Promise((r) => hub!.once('exit', r));
    }
    rmSync(work, { recursive: true, force: true });
    rmSync(app, { recursive: true, force: true });
  }, 60_000);

  it('answers /healthz, /metrics and the dashboard on its port and creates its database on the data volume', async () => {
    const objects = renderChart('strata-hub', {});
    const root = join(work, 'pod');
    const pod = layOutPod(objects, root);
    const cli = cliOf();
    const port = await freePort();
    // The one change outside a pod: listen on a free loopback port instead of 0.0.0.0:8080.
    const listen = pod.args.indexOf('--listen');
    expect(pod.args[listen + 1]).toBe(`0.0.0.0:${pod.listenPort}`);
    const args = pod.args.map((a, i) => (i === listen + 1 ? `127.0.0.1:${port}` : a));
    hub = spawn(process.execPath, [cli, ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...pod.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    hub.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    hub.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const base = `http://127.0.0.1:${port}`;
    await eventually('/healthz to answer 200', 60_000, async () => {
      if (hub!.exitCode !== null)
        throw new Error(`the hub exited with ${hub!.exitCode}:\n${output.slice(-4000)}`);
      return (await httpStatus(`${base}/healthz`)) === 200 ? true : undefined;
    });
    expect(await httpStatus(`${base}/metrics`)).toBe(200);
    expect(existsSync(join(root, 'var/lib/strata-hub/hub.db'))).toBe(true);
    // Without a read-token Secret the hub generated one beside its database, as values.yaml says.
    const token = readFileSync(join(root, 'var/lib/strata-hub/hub.db.read-token'), 'utf8').trim();
    expect(token.length).toBeGreaterThan(20);
    expect(await httpStatus(`${base}/`)).toBe(401);
    // The dashboard is served from the built layout too (no asset left behind by the build).
    expect(await httpStatus(`${base}/`, token)).toBe(200);
  }, 120_000);

  it('serves from PostgreSQL when the values name a database, two replicas sharing it and its read token', async () => {
    const postgres = await startPostgres();
    const replicas: ChildProcess[] = [];
    try {
      const url = await postgres.createDatabase('chart');
      const objects = renderChart('strata-hub', {
        replicas: 2,
        database: { url },
        readToken: { existingSecret: 'hub-read-token' },
      });
      const token = 'read-token-shared-by-both-replicas-0123456789';
      const pod = layOutPod(objects, join(work, 'pg-pod'), { 'hub-read-token': { token } });
      const cli = cliOf();
      const listen = pod.args.indexOf('--listen');
      const bases: string[] = [];
      for (let i = 0; i < 2; i++) {
        const port = await freePort();
        // As the kubelet does: $(NAME) in args is the container's env value; loopback instead of 0.0.0.0.
        const args = pod.args.map((a, j) =>
          j === listen + 1
            ? `127.0.0.1:${port}`
            : a.replace(/\$\((\w+)\)/g, (_, name: string) => pod.env[name] ?? ''),
        );
        const child = spawn(process.execPath, [cli, ...args], {
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...pod.env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
        child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
        replicas.push(child);
        bases.push(`http://127.0.0.1:${port}`);
      }
      for (const base of bases) {
        await eventually(`${base}/healthz to answer 200`, 60_000, async () => {
          if (replicas.some((r) => r.exitCode !== null))
            throw new Error(`a replica exited:\n${output.slice(-4000)}`);
          return (await httpStatus(`${base}/healthz`)) === 200 ? true : undefined;
        });
        expect(await httpStatus(`${base}/`)).toBe(401);
        expect(await httpStatus(`${base}/`, token)).toBe(200);
      }
    } finally {
      for (const r of replicas) {
        if (r.exitCode === null) {
          r.kill('SIGTERM');
          await new Promise((resolve) => r.once('exit', resolve));
        }
      }
      await postgres.stop();
    }
  }, 180_000);
});
