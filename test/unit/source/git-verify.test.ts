/**
 * Signed commits and tags: signatures made by the real git with GnuPG and with ssh-keygen
 * (gpg.format=ssh), served by the real git http-backend, checked by the source's verify policy.
 * Unsigned, unknown-key and tampered objects never become the source's commit.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentConfig } from '../../../agent/src/config/schema.js';
import { GitSource, type GitSourceOptions } from '../../../agent/src/source/git.js';
import { parseKeyFile, splitCommit } from '../../../agent/src/source/signature.js';
import {
  commitFiles,
  createRepo,
  type GitServer,
  git,
  setRef,
  startGitServer,
  type TestRepo,
} from '../../git/index.js';
import { keygen, type SshKeyPair } from '../../git/sshd.js';

let tmp: string;
let server: GitServer;
let repo: TestRepo;
let signer: GpgKey;
let stranger: GpgKey;
let sshSigner: SshKeyPair;
let sshStranger: SshKeyPair;
let sshAllowed: string;

interface GpgKey {
  home: string;
  fingerprint: string;
  publicFile: string;
}

function gpgKey(name: string): GpgKey {
  const home = path.join(tmp, `gnupg-${name}`);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const env = { ...process.env, GNUPGHOME: home };
  execFileSync(
    'gpg',
    [
      '--batch',
      '--passphrase',
      '',
      '--quick-gen-key',
      `${name} <${name}@strata.invalid>`,
      'ed25519',
      'sign',
      'never',
    ],
    { env, stdio: 'ignore' },
  );
  const listing = execFileSync('gpg', ['--batch', '--with-colons', '--list-secret-keys'], { env }).toString();
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(listing)?.[1] as string;
  const publicFile = path.join(tmp, `${name}.asc`);
  execFileSync('gpg', ['--batch', '--armor', '--output', publicFile, '--export', fingerprint], { env });
  return { home, fingerprint, publicFile };
}

/** A commit on top of `parent` with `parent`'s tree, signed by the real git. */
async function signedCommit(
  parent: string,
  sign: { gpg?: GpgKey; ssh?: SshKeyPair },
  message: string,
): Promise<string> {
  const tree = await git(['rev-parse', `${parent}^{tree}`], { cwd: repo.dir });
  if (sign.gpg) {
    return git(['commit-tree', `-S${sign.gpg.fingerprint}`, '-p', parent, '-m', message, tree], {
      cwd: repo.dir,
      env: { GNUPGHOME: sign.gpg.home },
    });
  }
  const key = sign.ssh as SshKeyPair;
  return git(
    [
      '-c',
      'gpg.format=ssh',
      '-c',
      `user.signingkey=${key.privateKey}`,
      'commit-tree',
      '-S',
      '-p',
      parent,
      '-m',
      message,
      tree,
    ],
    {
      cwd: repo.dir,
    },
  );
}

/** Files committed, then a signed commit on top moved to `branch`. */
async function pushSigned(
  branch: string,
  files: Record<string, string>,
  sign: { gpg?: GpgKey; ssh?: SshKeyPair },
): Promise<string> {
  const base = await commitFiles(repo, files, { branch });
  const signed = await signedCommit(base, sign, `signed ${Object.keys(files).join(',')}`);
  await setRef(repo, `refs/heads/${branch}`, signed);
  return signed;
}

/** The same commit with its content changed and its signature kept: what a forger can do. */
async function tampered(commit: string): Promise<string> {
  const raw = await git(['cat-file', 'commit', commit], { cwd: repo.dir });
  const forged = raw.replace(/\n\n([\s\S]*)$/, '\n\n$1 (and a forged line)');
  return git(['hash-object', '-t', 'commit', '-w', '--stdin'], { cwd: repo.dir, input: `${forged}\n` });
}

function open(name: string, over: Partial<GitSourceOptions> = {}): Promise<GitSource> {
  return GitSource.open({
    url: server.url('fleet'),
    ref: 'main',
    timeoutMs: 10_000,
    cacheDir: path.join(tmp, 'state', name),
    log: pino({ level: 'silent' }),
    ...over,
  });
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'strata-sig-'));
  repo = await createRepo(path.join(tmp, 'repos'), 'fleet');
  server = await startGitServer({ root: path.join(tmp, 'repos') });
  signer = gpgKey('signer');
  stranger = gpgKey('stranger');
  sshSigner = keygen(path.join(tmp, 'ssh'), 'ssh-signer');
  sshStranger = keygen(path.join(tmp, 'ssh'), 'ssh-stranger');
  sshAllowed = path.join(tmp, 'allowed_signers');
  await writeFile(sshAllowed, `# release engineers\nrelease@strata.invalid ${sshSigner.publicKey}\n`);
}, 60_000);
afterAll(async () => {
  await server?.close();
  for (const key of [signer, stranger]) {
    if (key)
      execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: key.home } });
  }
  await rm(tmp, { recursive: true, force: true });
});

describe('verify mode head', () => {
  it('follows commits signed with a trusted OpenPGP key and refuses unsigned, unknown and tampered ones', async () => {
    const source = await open('openpgp', { verify: { mode: 'head', keys: [signer.publicFile] } });
    const good = await pushSigned('main', { 'global/a.yaml': 'a: 1\n' }, { gpg: signer });
    expect(await source.fetch()).toMatchObject({ commit: good, error: null });

    const unsigned = await commitFiles(repo, { 'global/a.yaml': 'a: unsigned\n' });
    let state = await source.fetch();
    expect(state.commit).toBe(good);
    expect(state.error).toMatchObject({ reason: 'SignatureRejected' });
    expect(state.error?.message).toContain(`commit ${unsigned}: is not signed; not rendered or applied`);

    const foreign = await pushSigned('main', { 'global/a.yaml': 'a: stranger\n' }, { gpg: stranger });
    state = await source.fetch();
    expect(state.commit).toBe(good);
    expect(state.error?.message).toContain(
      `commit ${foreign}: is signed by an OpenPGP key that is not trusted`,
    );

    const trusted = await pushSigned('main', { 'global/a.yaml': 'a: 2\n' }, { gpg: signer });
    const forged = await tampered(trusted);
    await setRef(repo, 'refs/heads/main', forged);
    state = await source.fetch();
    expect(state.commit).toBe(good);
    expect(state.error?.message).toContain(`commit ${forged}: has a bad OpenPGP signature`);

    await setRef(repo, 'refs/heads/main', trusted);
    expect(await source.fetch()).toMatchObject({ commit: trusted, error: null });
  });

  it('follows commits signed with a trusted SSH key (gpg.format=ssh) and refuses others', async () => {
    const source = await open('ssh', { verify: { mode: 'head', keys: [sshAllowed] } });
    const good = await pushSigned('main', { 'global/s.yaml': 's: 1\n' }, { ssh: sshSigner });
    expect(await source.fetch()).toMatchObject({ commit: good, error: null });

    const foreign = await pushSigned('main', { 'global/s.yaml': 's: stranger\n' }, { ssh: sshStranger });
    let state = await source.fetch();
    expect(state.commit).toBe(good);
    expect(state.error?.message).toContain(`commit ${foreign}: is signed by an SSH key that is not trusted`);

    const trusted = await pushSigned('main', { 'global/s.yaml': 's: 2\n' }, { ssh: sshSigner });
    const forged = await tampered(trusted);
    await setRef(repo, 'refs/heads/main', forged);
    state = await source.fetch();
    expect(state.commit).toBe(good);
    expect(state.error?.reason).toBe('SignatureRejected');

    // An OpenPGP-signed commit when only SSH keys are trusted is refused, not waved through.
    const pgp = await pushSigned('main', { 'global/s.yaml': 's: pgp\n' }, { gpg: signer });
    state = await source.fetch();
    expect(state.error?.message).toContain(
      `commit ${pgp}: has an OpenPGP signature but no OpenPGP key is trusted`,
    );
  });

  it('does not trust a commit kept before the policy was set', async () => {
    const unsigned = await commitFiles(repo, { 'global/r.yaml': 'r: 1\n' });
    const before = await open('restart');
    expect((await before.fetch()).commit).toBe(unsigned);
    const after = await open('restart', { verify: { mode: 'head', keys: [signer.publicFile] } });
    expect(after.state.commit).toBeNull();
    const state = await after.fetch();
    expect(state.commit).toBeNull();
    expect(state.error?.reason).toBe('SignatureRejected');
  });
});

describe('verify mode tag', () => {
  it('follows a signed annotated tag, and refuses an unsigned or lightweight one', async () => {
    const commit = await commitFiles(repo, { 'global/t.yaml': 't: 1\n' });
    const env = { GNUPGHOME: signer.home };
    await git(['tag', '-s', `-u${signer.fingerprint}`, '-m', 'release 1', 'v1', commit], {
      cwd: repo.dir,
      env,
    });
    await git(['tag', '-a', '-m', 'release 2, unsigned', 'v2', commit], { cwd: repo.dir });
    await git(['tag', 'v3', commit], { cwd: repo.dir });
    const keys = [signer.publicFile];

    const v1 = await open('tag-v1', { ref: 'v1', verify: { mode: 'tag', keys } });
    expect(await v1.fetch()).toMatchObject({ commit, error: null });
    // The commit itself is unsigned: head-and-tag wants both.
    const both = await open('tag-both', { ref: 'v1', verify: { mode: 'head-and-tag', keys } });
    expect((await both.fetch()).error?.message).toContain(`commit ${commit}: is not signed`);

    const v2 = await open('tag-v2', { ref: 'v2', verify: { mode: 'tag', keys } });
    const s2 = await v2.fetch();
    expect(s2.commit).toBeNull();
    expect(s2.error?.message).toMatch(/tag refs\/tags\/v2 \([0-9a-f]{40}\): is not signed/);

    const v3 = await open('tag-v3', { ref: 'v3', verify: { mode: 'tag', keys } });
    expect((await v3.fetch()).error?.message).toContain('ref v3: is not an annotated tag');
  });
});

describe('signature parsing and policy configuration', () => {
  it('splits a commit exactly as git signs it', async () => {
    const signed = await signedCommit(
      await commitFiles(repo, { 'global/p.yaml': 'p: 1\n' }),
      { gpg: signer },
      'split',
    );
    const raw = Buffer.from(`${await git(['cat-file', 'commit', signed], { cwd: repo.dir })}\n`);
    const { payload, signature, format } = splitCommit(raw);
    expect(format).toBe('openpgp');
    expect(signature).toMatch(/^-----BEGIN PGP SIGNATURE-----\n[\s\S]+-----END PGP SIGNATURE-----\n$/);
    expect(payload.toString()).not.toContain('gpgsig');
    expect(payload.toString()).toMatch(
      /^tree [0-9a-f]{40}\nparent [0-9a-f]{40}\nauthor .*\ncommitter .*\n\nsplit\n$/,
    );
  });

  it('names the file and line of a key file that holds no key', async () => {
    const bad = path.join(tmp, 'not-a-key');
    await writeFile(bad, '# keys\nhello world\n');
    expect(() => parseKeyFile(bad, Buffer.from('# keys\nhello world\n'))).toThrow(
      `${bad}:2: not an OpenPGP public key`,
    );
    const source = await open('bad-keys', { verify: { mode: 'head', keys: [bad] } });
    const state = await source.fetch();
    expect(state.error?.reason).toBe('SignatureRejected');
    expect(state.error?.message).toContain(`${bad}:2`);
    expect(parseKeyFile('k', await readFile(signer.publicFile)).openpgp[0]?.length).toBeGreaterThan(30);
  });

  it('validates the verify policy in the agent configuration', () => {
    const base = { cluster: { name: 'c1' } };
    const ok = AgentConfig.safeParse({
      ...base,
      sources: [{ url: 'https://g/x.git', verify: { keys: ['/k.asc'] } }],
    });
    expect(ok.data?.sources[0]?.verify).toEqual({ mode: 'head', keys: ['/k.asc'] });
    const noKeys = AgentConfig.safeParse({
      ...base,
      sources: [{ url: 'https://g/x.git', verify: { keys: [] } }],
    });
    expect(noKeys.error?.issues[0]?.path).toEqual(['sources', 0, 'verify', 'keys']);
    const pinnedTag = AgentConfig.safeParse({
      ...base,
      sources: [{ url: 'https://g/x.git', ref: 'a'.repeat(40), verify: { mode: 'tag', keys: ['/k'] } }],
    });
    expect(pinnedTag.error?.issues[0]?.path).toEqual(['sources', 0, 'verify', 'mode']);
  });
});
