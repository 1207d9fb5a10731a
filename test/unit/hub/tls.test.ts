/**
 * The hub's own TLS and its read token, as a user runs them: the real `strata hub serve` process, with
 * a CA and a server certificate made here by the openssl CLI, and the agent's real report sender
 * verifying the hub against its CA file.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hubSender } from '../../../agent/src/report/hub-client.js';
import { makeReport, removeDir, tempDir } from './helpers.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

const run = promisify(execFile);
const CLI = ['--import', 'tsx', 'agent/src/cli.ts', 'hub'];

/** A CA, a certificate it signs for 127.0.0.1 and localhost, and an unrelated second CA. */
function makeCertificates(dir: string): { ca: string; otherCa: string; cert: string; key: string } {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  for (const name of ['ca', 'other-ca']) {
    openssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-subj',
      `/CN=strata test ${name}`,
    );
  }
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'hub.key',
    '-out',
    'hub.csr',
    '-subj',
    '/CN=strata hub',
  );
  writeFileSync(
    join(dir, 'hub.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  openssl(
    'x509',
    '-req',
    '-in',
    'hub.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'hub.pem',
    '-days',
    '2',
    '-extfile',
    'hub.ext',
  );
  return {
    ca: join(dir, 'ca.pem'),
    otherCa: join(dir, 'other-ca.pem'),
    cert: join(dir, 'hub.pem'),
    key: join(dir, 'hub.key'),
  };
}

function serve(args: string[]): Promise<{ child: ChildProcess; url: string; log: () => string }> {
  const child = spawn(process.execPath, [...CLI, 'serve', '--listen', '127.0.0.1:0', ...args]);
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /"url":"(https?:[^"]+)"/.exec(out);
      if (m) {
        clearInterval(timer);
        resolve({ child, url: m[1]!, log: () => out });
      }
    }, 50);
    child.once('exit', (code) => {
      clearInterval(timer);
      reject(new Error(`hub exited with ${code} before listening: ${out}`));
    });
  });
}

function get(url: string, ca: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(
        url,
        { ca: readFileSync(ca), headers: token ? { authorization: `Bearer ${token}` } : {} },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      )
      .on('error', reject);
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

describe('strata hub serve with --tls-cert and --tls-key, reads behind the generated read token', () => {
  let dir: string;
  let certs: ReturnType<typeof makeCertificates>;
  let db: string;
  let tokenFile: string;
  let hub: Awaited<ReturnType<typeof serve>>;

  beforeAll(async () => {
    dir = tempDir();
    certs = makeCertificates(dir);
    db = join(dir, 'hub.db');
    tokenFile = join(dir, 'cluster-token');
    const { stdout } = await run(process.execPath, [...CLI, 'token', 'create', 'edge-1', '--db', db]);
    writeFileSync(tokenFile, stdout.trim());
    hub = await serve(['--db', db, '--tls-cert', certs.cert, '--tls-key', certs.key, '--private-metrics']);
  });
  afterAll(async () => {
    if (hub) await stop(hub.child);
    removeDir(dir);
  });

  it('serves HTTPS only, and the agent delivers a report verifying the hub against its CA file', async () => {
    expect(hub.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const send = hubSender({ url: hub.url, tokenFile, caFile: certs.ca, timeout: 10_000 });
    expect(await send(makeReport('edge-1', 1))).toEqual({ ok: true });

    // Another CA, or the system CAs alone, cannot verify the hub: nothing is sent, the report is retried.
    for (const caFile of [certs.otherCa, undefined]) {
      const result = await hubSender({
        url: hub.url,
        tokenFile,
        timeout: 10_000,
        ...(caFile ? { caFile } : {}),
      })(makeReport('edge-1', 2));
      expect(result).toMatchObject({ ok: false, retry: true });
      expect(result.ok === false && result.reason).toMatch(/certificate/i);
    }
    const plain = await hubSender({ url: hub.url.replace('https:', 'http:'), tokenFile, timeout: 10_000 })(
      makeReport('edge-1', 3),
    );
    expect(plain).toMatchObject({ ok: false, retry: true });
  });

  it('generates a read token beside the database (mode 0600) that reads and metrics need', async () => {
    const file = `${db}.read-token`;
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const readToken = readFileSync(file, 'utf8').trim();
    expect(readToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(hub.log()).toContain(`"readTokenFile":"${file}"`);
    expect(hub.log()).not.toContain(readToken);

    expect((await get(`${hub.url}/api/v1/clusters`, certs.ca)).status).toBe(401);
    expect((await get(`${hub.url}/`, certs.ca)).status).toBe(401);
    expect((await get(`${hub.url}/api/v1/clusters`, certs.ca, 'wrong')).status).toBe(401);
    const fleet = await get(`${hub.url}/api/v1/clusters`, certs.ca, readToken);
    expect(fleet.status).toBe(200);
    expect((JSON.parse(fleet.body) as { clusters: { name: string; seq: number }[] }).clusters).toMatchObject([
      { name: 'edge-1', seq: 1 },
    ]);
    expect((await get(`${hub.url}/metrics`, certs.ca)).status).toBe(401);
    const metrics = await get(`${hub.url}/metrics`, certs.ca, readToken);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('strata_hub_clusters{phase="Synced"} 1');
    expect((await get(`${hub.url}/healthz`, certs.ca)).status).toBe(200);
  });

  it('keeps the generated token across restarts', async () => {
    const before = readFileSync(`${db}.read-token`, 'utf8');
    await stop(hub.child);
    hub = await serve(['--db', db, '--tls-cert', certs.cert, '--tls-key', certs.key]);
    expect(readFileSync(`${db}.read-token`, 'utf8')).toBe(before);
    expect((await get(`${hub.url}/api/v1/clusters`, certs.ca, before.trim())).status).toBe(200);
    // Without --private-metrics, /metrics is open to scrapers.
    expect((await get(`${hub.url}/metrics`, certs.ca)).status).toBe(200);
  });
});

describe('strata hub serve refuses unclear read access', () => {
  const refused = async (args: string[]) => {
    const result = await run(process.execPath, [...CLI, 'serve', '--listen', '127.0.0.1:0', ...args]).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
    );
    expect(result.code).toBe(2);
    return result.stderr;
  };

  it('on PostgreSQL without a shared read token, and with contradicting or half flags', async () => {
    expect(await refused(['--db', 'postgres://strata@127.0.0.1:1/hub'])).toContain(
      'a hub on PostgreSQL needs --read-token-file FILE (the same token for every replica) or --public-read',
    );
    expect(await refused(['--public-read', '--read-token-file', '/nonexistent/token'])).toContain(
      '--public-read and --read-token-file exclude each other',
    );
    expect(await refused(['--public-read', '--private-metrics'])).toContain(
      '--private-metrics needs a read token',
    );
    expect(await refused(['--public-read', '--tls-cert', '/nonexistent/hub.pem'])).toContain(
      '--tls-cert and --tls-key go together',
    );
  });
});
