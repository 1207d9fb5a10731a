/**
 * Git over SSH against a real OpenSSH sshd on loopback (its own host key, authorized keys and
 * git-upload-pack): clone, fetch, previews' ref listing, and the attacks a deploy key must
 * withstand (wrong key, unknown host key, changed host key, a server that never answers).
 */
import fs from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import git from 'isomorphic-git';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentConfig } from '../../../agent/src/config/schema.js';
import { isSshUrl, knownHostsName, parseSshUrl, shellQuote } from '../../../agent/src/model/ssh-url.js';
import { GitSource, type GitSourceOptions } from '../../../agent/src/source/git.js';
import { sshArgs } from '../../../agent/src/source/ssh-transport.js';
import { commitFiles, createRepo, type TestRepo } from '../../git/index.js';
import { keygen, type SshGitServer, type SshKeyPair, startSshGitServer } from '../../git/sshd.js';

let tmp: string;
let server: SshGitServer;
let repo: TestRepo;
let deployKey: SshKeyPair;
let knownHosts: string;

async function open(name: string, over: Partial<GitSourceOptions> = {}): Promise<GitSource> {
  return GitSource.open({
    url: server.url('fleet'),
    ref: 'main',
    auth: { sshKeyFile: deployKey.privateKey, knownHostsFile: knownHosts },
    timeoutMs: 10_000,
    cacheDir: path.join(tmp, 'state', name),
    log: pino({ level: 'silent' }),
    ...over,
  });
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'strata-ssh-'));
  repo = await createRepo(path.join(tmp, 'repos'), 'fleet');
  server = await startSshGitServer({ root: path.join(tmp, 'repos'), dir: path.join(tmp, 'sshd') });
  deployKey = keygen(path.join(tmp, 'keys'), 'deploy');
  server.authorize(deployKey.publicKey);
  knownHosts = path.join(tmp, 'known_hosts');
  await writeFile(knownHosts, `${server.knownHostsLine()}\n`);
});
afterAll(async () => {
  await server?.close();
  await rm(tmp, { recursive: true, force: true });
});

describe('Git over SSH', () => {
  it('clones shallow and follows new commits', async () => {
    const c1 = await commitFiles(repo, { 'global/a.yaml': 'a: 1\n' });
    const c2 = await commitFiles(repo, { 'global/a.yaml': 'a: 2\n' });
    const source = await open('clone');
    expect(await source.fetch()).toMatchObject({ commit: c2, reachable: true, error: null });
    // Shallow like HTTP: the parent commit was not downloaded.
    await expect(git.readCommit({ fs, gitdir: source.gitdir, oid: c1 })).rejects.toThrow();
    const c3 = await commitFiles(repo, { 'global/a.yaml': 'a: 3\n', 'global/b.yaml': 'b: 1\n' });
    expect((await source.fetch()).commit).toBe(c3);
    const tree = await source.tree(c3);
    expect(new TextDecoder().decode(await tree.read('global/b.yaml', 1024))).toBe('b: 1\n');
  });

  it('lists preview refs over SSH', async () => {
    const head = await commitFiles(repo, { 'global/pr.yaml': 'pr: 1\n' }, { branch: 'pr-1' });
    await commitFiles(repo, {}, { branch: 'main' });
    const source = await open('refs');
    const refs = await source.listRemoteRefs('refs/heads/pr-');
    expect(refs).toEqual([{ ref: 'refs/heads/pr-1', oid: head }]);
    expect(await source.fetchRef('refs/heads/pr-1')).toBe(head);
  });

  it('refuses a key the server does not accept and keeps the last commit', async () => {
    const source = await open('wrong-key');
    const good = (await source.fetch()).commit;
    expect(good).toMatch(/^[0-9a-f]{40}$/);
    const stranger = keygen(path.join(tmp, 'keys'), 'stranger');
    const wrong = await open('wrong-key', {
      auth: { sshKeyFile: stranger.privateKey, knownHostsFile: knownHosts },
    });
    await commitFiles(repo, { 'global/a.yaml': 'a: after-wrong-key\n' });
    const state = await wrong.fetch();
    expect(state.commit).toBe(good);
    expect(state.error?.reason).toBe('SourceAuthFailed');
    expect(state.error?.message).toMatch(/refused the SSH key: .*Permission denied \(publickey\)/);
  });

  it('refuses a server whose host key is not in the known hosts file, and never adds it', async () => {
    const empty = path.join(tmp, 'known_hosts.empty');
    await writeFile(empty, '');
    const source = await open('unknown-host', {
      auth: { sshKeyFile: deployKey.privateKey, knownHostsFile: empty },
    });
    const state = await source.fetch();
    expect(state.commit).toBeNull();
    expect(state.error?.reason).toBe('SourceAuthFailed');
    expect(state.error?.message).toContain(`the host key of [127.0.0.1]:${server.port} is not in ${empty}`);
    expect(await readFile(empty, 'utf8')).toBe('');
  });

  it('refuses a missing known hosts file with a message naming it', async () => {
    const missing = path.join(tmp, 'no-such-known-hosts');
    const source = await open('missing-hosts', {
      auth: { sshKeyFile: deployKey.privateKey, knownHostsFile: missing },
    });
    const state = await source.fetch();
    expect(state.error?.reason).toBe('SourceAuthFailed');
    expect(state.error?.message).toContain(`auth.knownHostsFile ${missing} cannot be read`);
  });

  it('refuses a changed host key (a man in the middle) and keeps the last commit', async () => {
    const source = await open('changed-host');
    const before = (await source.fetch()).commit;
    await server.rotateHostKey();
    try {
      await commitFiles(repo, { 'global/a.yaml': 'a: served-by-impostor\n' });
      const state = await source.fetch();
      expect(state.commit).toBe(before);
      expect(state.error?.reason).toBe('SourceAuthFailed');
      expect(state.error?.message).toContain('does not match');
      // The operator trusts the new key: fetching works again.
      await writeFile(knownHosts, `${server.knownHostsLine()}\n`);
      const after = await source.fetch();
      expect(after.error).toBeNull();
      expect(after.commit).not.toBe(before);
    } finally {
      await writeFile(knownHosts, `${server.knownHostsLine()}\n`);
    }
  });

  it('gives up on a server that accepts the connection and never speaks, within the timeout', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const source = await open('silent', { url: `ssh://git@127.0.0.1:${port}/fleet.git`, timeoutMs: 2000 });
      const started = Date.now();
      const state = await source.fetch();
      expect(Date.now() - started).toBeLessThan(8000);
      expect(state.error?.reason).toBe('SourceUnavailable');
      expect(state.reachable).toBe(false);
    } finally {
      silent.close();
    }
  });
});

describe('SSH source configuration', () => {
  const base = { cluster: { name: 'c1' }, stateDir: '/tmp/x' };

  it('requires a known hosts file for SSH URLs: there is no accept-any-host-key mode', () => {
    for (const url of ['ssh://git@git.example.com/fleet.git', 'git@git.example.com:platform/fleet.git']) {
      const result = AgentConfig.safeParse({ ...base, sources: [{ url }] });
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.path).toEqual(['sources', 0, 'auth']);
      expect(result.error?.issues[0]?.message).toContain('knownHostsFile');
      const missingHosts = AgentConfig.safeParse({ ...base, sources: [{ url, auth: { sshKeyFile: '/k' } }] });
      expect(missingHosts.success).toBe(false);
    }
    const ok = AgentConfig.safeParse({
      ...base,
      sources: [{ url: 'git@git.example.com:fleet.git', auth: { sshKeyFile: '/k', knownHostsFile: '/h' } }],
    });
    expect(ok.success).toBe(true);
    expect(ok.data?.sources[0]?.kind).toBe('git');
  });
});

describe('SSH URLs', () => {
  it('reads the ssh:// and scp-like forms git accepts', () => {
    expect(parseSshUrl('ssh://git@github.com/org/fleet.git')).toEqual({
      user: 'git',
      host: 'github.com',
      path: '/org/fleet.git',
    });
    expect(parseSshUrl('ssh://deploy@[::1]:2222/srv/fleet.git')).toEqual({
      user: 'deploy',
      host: '::1',
      port: 2222,
      path: '/srv/fleet.git',
    });
    expect(parseSshUrl('git@github.com:org/fleet.git')).toEqual({
      user: 'git',
      host: 'github.com',
      path: 'org/fleet.git',
    });
    expect(parseSshUrl('ssh://git@host/~git/fleet.git').path).toBe('~git/fleet.git');
    expect(knownHostsName({ host: 'h', port: 2222, path: '/' })).toBe('[h]:2222');
    expect(knownHostsName({ host: 'h', port: 22, path: '/' })).toBe('h');
    expect(isSshUrl('https://h/x.git')).toBe(false);
    expect(isSshUrl('./fleet')).toBe(false);
  });

  it('refuses hosts and users that ssh would read as options, and paths that break the command', () => {
    expect(() => parseSshUrl('ssh://-oProxyCommand=touch%20pwned/x')).toThrow(/may not start with "-"/);
    expect(() => parseSshUrl('-oProxyCommand=sh:x')).toThrow(/may not start with "-"/);
    expect(() => parseSshUrl('ssh://-lroot@host/x')).toThrow(/may not start with "-"/);
    expect(() => parseSshUrl('ssh://git@host/x%0Atouch%20pwned')).toThrow(/newlines/);
    expect(() => parseSshUrl('ssh://git@host:99999/x')).toThrow(/out of range/);
    // The path reaches the remote shell single-quoted, quotes escaped.
    expect(shellQuote("/srv/it's; rm -rf ~")).toBe(`'/srv/it'\\''s; rm -rf ~'`);
    const args = sshArgs({ host: 'h', path: "/a'b" }, { sshKeyFile: '/k', knownHostsFile: '/kh' }, 30_000);
    expect(args.slice(-3)).toEqual(['--', 'h', `git-upload-pack '/a'\\''b'`]);
    expect(args).toContain('StrictHostKeyChecking=yes');
    expect(args).toContain('UserKnownHostsFile=/kh');
  });

  it('runs a path with a quote and spaces to the real server intact', async () => {
    const odd = await createRepo(path.join(tmp, 'repos'), "it's a fleet");
    const commit = await commitFiles(odd, { 'global/q.yaml': 'q: 1\n' });
    const source = await open('odd-path', { url: server.url("it's a fleet").replace(/ /g, '%20') });
    expect(await source.fetch()).toMatchObject({ commit, error: null });
  });
});
