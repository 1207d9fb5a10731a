import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitSource } from '../../../agent/src/source/git.js';
import { commitFiles, createRepo, type GitServer, startGitServer } from '../../git/index.js';

// The Git HTTP client (agent/src/source/http.ts) speaks node:http, so redirects are its own job.
let tmp: string;
let open: GitServer;
let guarded: GitServer;
let head: string;
const TOKEN = 'redirect-token-0815';

/** A server on another origin that answers every request with `status` to the same path on `target`. */
async function redirector(status: number, target: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    res.writeHead(status, { location: `${target}${req.url}` }).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function source(url: string, name: string, auth = false): Promise<GitSource> {
  return GitSource.open({
    url,
    ref: 'main',
    ...(auth ? { auth: { tokenFile: path.join(tmp, 'token') } } : {}),
    timeoutMs: 5000,
    cacheDir: path.join(tmp, 'state', name),
    log: pino({ level: 'silent' }),
  });
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'strata-git-http-'));
  await writeFile(path.join(tmp, 'token'), TOKEN);
  const root = path.join(tmp, 'repos');
  const repo = await createRepo(root, 'fleet');
  head = await commitFiles(repo, { 'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a }\n' });
  open = await startGitServer({ root });
  guarded = await startGitServer({ root, auth: { type: 'bearer', token: TOKEN } });
});
afterAll(async () => {
  await open?.close();
  await guarded?.close();
  await rm(tmp, { recursive: true, force: true });
});

describe('Git HTTP client', () => {
  it.each([301, 302, 307, 308])('follows a %i redirect to the repository', async (status) => {
    const hop = await redirector(status, `http://127.0.0.1:${open.port}`);
    try {
      const state = await (await source(`${hop.url}/fleet.git`, `r${status}`)).fetch();
      expect(state.error).toBeNull();
      expect(state.commit).toBe(head);
    } finally {
      await hop.close();
    }
  });

  it('never sends the token on to another origin after a redirect', async () => {
    expect((await (await source(guarded.url('fleet'), 'direct', true)).fetch()).commit).toBe(head);
    const hop = await redirector(307, `http://127.0.0.1:${guarded.port}`);
    try {
      const state = await (await source(`${hop.url}/fleet.git`, 'cross', true)).fetch();
      expect(state.commit).toBeNull();
      expect(state.error?.reason).toBe('SourceAuthFailed');
    } finally {
      await hop.close();
    }
  });

  it('says SourceUnavailable, naming the URL, when nothing listens', async () => {
    const hop = await redirector(301, 'http://127.0.0.1:1');
    await hop.close();
    const state = await (await source(`${hop.url}/fleet.git`, 'down')).fetch();
    expect(state.error?.reason).toBe('SourceUnavailable');
    expect(state.error?.message).toContain(hop.url);
  });
});
