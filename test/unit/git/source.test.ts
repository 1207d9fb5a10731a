import fs from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import git from 'isomorphic-git';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitSource, type GitSourceOptions, MAX_CACHE_PACKS } from '../../../agent/src/source/git.js';
import {
  commitFiles,
  createRepo,
  deleteRef,
  forcePush,
  type GitServer,
  git as gitCli,
  setRef,
  startGitServer,
  type TestRepo,
} from '../../git/index.js';

let tmp: string;
let server: GitServer;
let repo: TestRepo;
let logLines: string[];
const TOKEN = 'super-secret-token-4711';

function logger() {
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  return pino({ level: 'trace' }, sink);
}

async function open(name: string, over: Partial<GitSourceOptions> = {}): Promise<GitSource> {
  const tokenFile = path.join(tmp, 'token');
  return GitSource.open({
    url: server.url('fleet'),
    ref: 'main',
    auth: { tokenFile },
    timeoutMs: 5000,
    cacheDir: path.join(tmp, 'state', name),
    log: logger(),
    ...over,
  });
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'strata-src-'));
  logLines = [];
  await writeFile(path.join(tmp, 'token'), `${TOKEN}\n`);
  repo = await createRepo(path.join(tmp, 'repos'), 'fleet');
  server = await startGitServer({ root: path.join(tmp, 'repos'), auth: { type: 'bearer', token: TOKEN } });
});
afterAll(async () => {
  await server.close();
  await rm(tmp, { recursive: true, force: true });
});

describe('Git source', () => {
  it('fetches the ref, follows new commits, and remembers the commit across restarts', async () => {
    const c1 = await commitFiles(repo, { 'global/a.yaml': 'a: 1\n' });
    const source = await open('follow');
    expect((await source.fetch()).commit).toBe(c1);
    const c2 = await commitFiles(repo, { 'global/a.yaml': 'a: 2\n' });
    const state = await source.fetch();
    expect(state).toMatchObject({ commit: c2, reachable: true, error: null });
    const blob = await git.readBlob({ fs, gitdir: source.gitdir, oid: c2, filepath: 'global/a.yaml' });
    expect(Buffer.from(blob.blob).toString()).toBe('a: 2\n');

    const reopened = await open('follow');
    expect(reopened.state.commit).toBe(c2);
  });

  it('follows a force-push to an older commit', async () => {
    const old = await commitFiles(repo, { 'global/b.yaml': 'b: old\n' });
    const source = await open('force');
    await source.fetch();
    const newer = await commitFiles(repo, { 'global/b.yaml': 'b: new\n' });
    expect((await source.fetch()).commit).toBe(newer);
    await forcePush(repo, 'main', old);
    expect((await source.fetch()).commit).toBe(old);
  });

  it('follows a force-push to an older commit it never fetched (beyond the shallow boundary)', async () => {
    const c0 = await commitFiles(repo, { 'deep/a.yaml': 'a: 0\n' }, { branch: 'deep' });
    await commitFiles(repo, { 'deep/a.yaml': 'a: 1\n' }, { branch: 'deep' });
    const c2 = await commitFiles(
      repo,
      { 'deep/a.yaml': 'a: 2\n', 'deep/b.yaml': 'b: 2\n' },
      { branch: 'deep' },
    );
    const source = await open('deep', { ref: 'deep' });
    expect((await source.fetch()).commit).toBe(c2);
    const c3 = await commitFiles(repo, { 'deep/a.yaml': 'a: 3\n' }, { branch: 'deep' });
    expect((await source.fetch()).commit).toBe(c3);
    await forcePush(repo, 'deep', c0);
    expect((await source.fetch()).commit).toBe(c0);
    expect(await source.verify(c0)).toBe(true);
    const blob = await git.readBlob({ fs, gitdir: source.gitdir, oid: c0, filepath: 'deep/a.yaml' });
    expect(Buffer.from(blob.blob).toString()).toBe('a: 0\n');
  });

  it('does not download anything when the ref has not moved', async () => {
    await commitFiles(repo, { 'global/still.yaml': 's: 1\n' });
    const source = await open('still');
    await source.fetch();
    const packs = async () => (await readdir(path.join(source.gitdir, 'objects', 'pack'))).length;
    const before = { requests: server.requests, packs: await packs() };
    expect((await source.fetch()).error).toBeNull();
    // Ref discovery only (GET info/refs + ls-refs): no pack negotiated or written.
    expect(server.requests - before.requests).toBe(2);
    expect(await packs()).toBe(before.packs);
  });

  it('pins to a commit SHA and stops asking the remote once it has it', async () => {
    const pinned = await commitFiles(repo, { 'global/p.yaml': 'p: 1\n' });
    await commitFiles(repo, { 'global/p.yaml': 'p: 2\n' });
    const source = await open('pinned', { ref: pinned });
    expect(source.pinned).toBe(true);
    expect((await source.fetch()).commit).toBe(pinned);
    const before = server.requests;
    expect((await source.fetch()).commit).toBe(pinned);
    expect(server.requests).toBe(before);
  });

  it('keeps the last commit while the server is down and catches up after it returns', async () => {
    const c1 = await commitFiles(repo, { 'global/o.yaml': 'o: 1\n' });
    const source = await open('outage');
    await source.fetch();
    await server.stop();
    try {
      const down1 = await source.fetch();
      expect(down1.commit).toBe(c1);
      expect(down1.reachable).toBe(false);
      expect(down1.error?.reason).toBe('SourceUnavailable');
      const since = down1.error?.since;
      await new Promise((r) => setTimeout(r, 5));
      const down2 = await source.fetch();
      expect(down2.error?.since).toBe(since);
    } finally {
      await server.start();
    }
    const c2 = await commitFiles(repo, { 'global/o.yaml': 'o: 2\n' });
    const back = await source.fetch();
    expect(back).toMatchObject({ commit: c2, reachable: true, error: null });
  });

  it('says SourceAuthFailed for a wrong token and never logs the token', async () => {
    const c1 = await commitFiles(repo, { 'global/t.yaml': 't: 1\n' });
    const source = await open('auth');
    await source.fetch();
    const badFile = path.join(tmp, 'bad-token');
    await writeFile(badFile, 'wrong-token-0815');
    const bad = await open('auth', { auth: { tokenFile: badFile } });
    const state = await bad.fetch();
    expect(state.commit).toBe(c1);
    expect(state.error?.reason).toBe('SourceAuthFailed');
    expect(state.error?.message).toMatch(/401/);
    const all = logLines.join('');
    expect(all).toContain('Fetch failed');
    expect(all).not.toContain(TOKEN);
    expect(all).not.toContain('wrong-token-0815');
  });

  it('keeps the last commit when the branch is deleted (RefNotFound, nothing to prune)', async () => {
    const c = await commitFiles(repo, { 'x.yaml': 'x: 1\n' }, { branch: 'gone' });
    const source = await open('gone', { ref: 'gone' });
    expect((await source.fetch()).commit).toBe(c);
    await deleteRef(repo, 'refs/heads/gone');
    const state = await source.fetch();
    expect(state.commit).toBe(c);
    expect(state.error?.reason).toBe('RefNotFound');
  });

  it('says an object the server could not send is missing, not that the ref is gone', async () => {
    const c = await commitFiles(repo, { 'lost/a.yaml': 'a: 1\n' }, { branch: 'lost' });
    const source = await open('lost', { ref: 'lost' });
    expect((await source.fetch()).commit).toBe(c);
    // The server's repository loses a blob: git upload-pack dies mid-pack, the pack arrives short.
    const broken = await commitFiles(repo, { 'lost/b.yaml': 'b: 1\n' }, { branch: 'lost' });
    const blob = await gitCli(['rev-parse', `${broken}:lost/b.yaml`], { cwd: repo.dir });
    await rm(path.join(repo.dir, 'objects', blob.slice(0, 2), blob.slice(2)));
    const state = await source.fetch();
    expect(state.commit).toBe(c);
    expect(state.error?.reason).toBe('SourceUnavailable');
    expect(state.error?.message).toMatch(
      /the remote sent no object [0-9a-f]{40} for ref lost \(an incomplete pack/,
    );
  });

  it('compacts its cache: packs stay bounded over many fetches, and the cache still reads and fetches', {
    timeout: 120_000,
  }, async () => {
    const packDir = (s: GitSource) => path.join(s.gitdir, 'objects', 'pack');
    const packs = async (s: GitSource) =>
      (await readdir(packDir(s))).filter((f) => f.endsWith('.pack')).length;
    await commitFiles(repo, { 'many/keep.yaml': 'k: 1\n', 'many/n.yaml': 'n: 0\n' }, { branch: 'many' });
    const source = await open('many', { ref: 'many' });
    await source.fetch();
    let most = 0;
    let last = '';
    for (let i = 1; i <= MAX_CACHE_PACKS + 4; i++) {
      last = await commitFiles(repo, { 'many/n.yaml': `n: ${i}\n` }, { branch: 'many' });
      expect((await source.fetch()).commit).toBe(last);
      most = Math.max(most, await packs(source));
    }
    expect(most).toBeLessThanOrEqual(MAX_CACHE_PACKS + 1);
    expect(logLines.join('')).toContain('Compacted the Git cache into one pack.');
    const tree = await source.tree(last);
    expect(new TextDecoder().decode(await tree.read('many/n.yaml', 1024))).toBe(
      `n: ${MAX_CACHE_PACKS + 4}\n`,
    );
    expect(new TextDecoder().decode(await tree.read('many/keep.yaml', 1024))).toBe('k: 1\n');
    // After a restart and on the next push the compacted cache works like any other.
    const reopened = await open('many', { ref: 'many' });
    expect(reopened.state.commit).toBe(last);
    const next = await commitFiles(repo, { 'many/n.yaml': 'n: next\n' }, { branch: 'many' });
    expect(await reopened.fetch()).toMatchObject({ commit: next, error: null });
    expect(await reopened.verify(next)).toBe(true);
  });

  it('detects a damaged cache at start and fetches it again', async () => {
    const c = await commitFiles(repo, { 'global/d.yaml': 'd: 1\n' });
    const source = await open('corrupt');
    await source.fetch();
    const packDir = path.join(source.gitdir, 'objects', 'pack');
    const packs = (await readdir(packDir)).filter((f) => f.endsWith('.pack'));
    expect(packs.length).toBeGreaterThan(0);
    for (const p of packs) await writeFile(path.join(packDir, p), 'garbage');
    const reopened = await open('corrupt');
    expect(reopened.state.commit).toBeNull();
    expect((await reopened.fetch()).commit).toBe(c);
    expect(await reopened.verify(c)).toBe(true);
  });

  it('rewrites a damaged shallow file, at start and on a fetch, and keeps following the ref', async () => {
    const shallow = (s: GitSource) => path.join(s.gitdir, 'shallow');
    const tear = async (s: GitSource) => {
      const text = await readFile(shallow(s), 'utf8');
      expect(text).toMatch(/^[0-9a-f]{40}$/m);
      await writeFile(shallow(s), text.slice(0, 20));
    };
    const first = await commitFiles(repo, { 'torn/a.yaml': 'a: 1\n' }, { branch: 'torn' });
    const source = await open('torn', { ref: 'torn' });
    expect((await source.fetch()).commit).toBe(first);
    // Torn while the agent runs: the next fetch of a new commit must not fail for ever.
    await tear(source);
    const second = await commitFiles(repo, { 'torn/a.yaml': 'a: 2\n' }, { branch: 'torn' });
    expect(await source.fetch()).toMatchObject({ commit: second, error: null });
    expect(await source.verify(second)).toBe(true);
    // Torn while the agent is down: the restart keeps the commit and the next push fetches.
    await tear(source);
    const reopened = await open('torn', { ref: 'torn' });
    expect(reopened.state.commit).toBe(second);
    expect(await readFile(shallow(reopened), 'utf8')).toMatch(/^([0-9a-f]{40}\n)+$/);
    const third = await commitFiles(repo, { 'torn/a.yaml': 'a: 3\n' }, { branch: 'torn' });
    expect(await reopened.fetch()).toMatchObject({ commit: third, error: null });
    expect(logLines.join('')).toContain("The Git cache's shallow file is damaged; rewriting it.");
  });

  it('lists and fetches pull request refs into the same cache', async () => {
    const head = await commitFiles(repo, { 'pr.yaml': 'pr: 9\n' }, { branch: 'pr9' });
    await setRef(repo, 'refs/pull/9/head', head);
    const source = await open('previews');
    const refs = await source.listRemoteRefs('refs/pull/');
    expect(refs).toContainEqual({ ref: 'refs/pull/9/head', oid: head });
    expect(await source.fetchRef('refs/pull/9/head')).toBe(head);
    expect(await source.verify(head)).toBe(true);
  });
});

describe('Git source timeouts', () => {
  it('gives up on a server that accepts but never answers (a hang a real git server will not produce on demand)', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const source = await open('hang', {
        url: `http://127.0.0.1:${port}/fleet.git`,
        timeoutMs: 1000,
        auth: undefined,
      });
      const started = Date.now();
      const state = await source.fetch();
      expect(state.error?.reason).toBe('SourceUnavailable');
      expect(state.error?.message).toMatch(/within 1000ms/);
      expect(Date.now() - started).toBeLessThan(4000);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });
});
