import fs from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  commitFiles,
  commitFolder,
  createRepo,
  deleteRef,
  forcePush,
  type GitServer,
  listRefs,
  resolveRef,
  setRef,
  startGitServer,
  type TestRepo,
} from '../../git/index.js';

let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'strata-gitsrv-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function cloneDir(): Promise<string> {
  return mkdtemp(path.join(tmp, 'clone-'));
}

describe('test Git server with basic auth', () => {
  let server: GitServer;
  let repo: TestRepo;
  let first: string;

  beforeAll(async () => {
    const root = path.join(tmp, 'basic');
    repo = await createRepo(root, 'fleet');
    first = await commitFiles(repo, { 'global/ns.yaml': 'kind: Namespace\n', 'README.md': 'hi\n' });
    server = await startGitServer({ root, auth: { type: 'basic', username: 'alice', password: 's3cret' } });
  });
  afterAll(() => server.close());

  it('lets isomorphic-git clone with the right credentials', async () => {
    const dir = await cloneDir();
    await git.clone({
      fs,
      http,
      dir,
      url: server.url('fleet'),
      ref: 'main',
      singleBranch: true,
      depth: 1,
      onAuth: () => ({ username: 'alice', password: 's3cret' }),
    });
    expect(await git.resolveRef({ fs, dir, ref: 'HEAD' })).toBe(first);
    expect(await readFile(path.join(dir, 'global/ns.yaml'), 'utf8')).toBe('kind: Namespace\n');
  });

  it('refuses a clone without credentials with HTTP 401', async () => {
    const dir = await cloneDir();
    const err = await git.clone({ fs, http, dir, url: server.url('fleet') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as { code?: string }).code).toBe('HttpError');
    expect((err as { data?: { statusCode?: number } }).data?.statusCode).toBe(401);
  });

  it('refuses wrong credentials', async () => {
    const dir = await cloneDir();
    const err = await git
      .clone({
        fs,
        http,
        dir,
        url: server.url('fleet'),
        onAuth: () => ({ username: 'alice', password: 'wrong' }),
        onAuthFailure: () => ({ cancel: true }),
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).toMatch(/401|cancel/i);
  });
});

describe('test Git server with bearer auth', () => {
  let server: GitServer;
  let repo: TestRepo;

  beforeAll(async () => {
    const root = path.join(tmp, 'bearer');
    repo = await createRepo(root, 'fleet');
    await commitFiles(repo, { 'a.yaml': 'a: 1\n' });
    server = await startGitServer({ root, auth: { type: 'bearer', token: 'tok-123' } });
  });
  afterAll(() => server.close());

  it('accepts the bearer token in an Authorization header', async () => {
    const dir = await cloneDir();
    await git.clone({
      fs,
      http,
      dir,
      url: server.url('fleet'),
      headers: { Authorization: 'Bearer tok-123' },
    });
    expect(await readFile(path.join(dir, 'a.yaml'), 'utf8')).toBe('a: 1\n');
  });

  it('refuses another token', async () => {
    const dir = await cloneDir();
    const err = await git
      .clone({ fs, http, dir, url: server.url('fleet'), headers: { Authorization: 'Bearer nope' } })
      .catch((e: unknown) => e);
    expect((err as { data?: { statusCode?: number } }).data?.statusCode).toBe(401);
  });
});

describe('repo helpers and outages', () => {
  let server: GitServer;
  let repo: TestRepo;
  const root = () => path.join(tmp, 'open');

  beforeAll(async () => {
    repo = await createRepo(root(), 'fleet');
    server = await startGitServer({ root: root() });
  });
  afterAll(() => server.close());

  it('commits on top of the branch, deletes with null, and force-pushes back', async () => {
    const c1 = await commitFiles(repo, { 'x.yaml': 'x: 1\n', 'y.yaml': 'y: 1\n' });
    const c2 = await commitFiles(repo, { 'x.yaml': 'x: 2\n', 'y.yaml': null });
    const dir = await cloneDir();
    await git.clone({ fs, http, dir, url: server.url('fleet'), singleBranch: true, depth: 1 });
    expect(await git.resolveRef({ fs, dir, ref: 'HEAD' })).toBe(c2);
    expect(await readFile(path.join(dir, 'x.yaml'), 'utf8')).toBe('x: 2\n');
    expect(fs.existsSync(path.join(dir, 'y.yaml'))).toBe(false);

    await forcePush(repo, 'main', c1);
    expect(await resolveRef(repo, 'refs/heads/main')).toBe(c1);
    const refs = await git.listServerRefs({ http, url: server.url('fleet') });
    expect(refs.find((r) => r.ref === 'refs/heads/main')?.oid).toBe(c1);
  });

  it('creates and deletes pull request refs the server advertises', async () => {
    const head = await commitFiles(repo, { 'pr.yaml': 'pr: 7\n' }, { branch: 'feature' });
    await setRef(repo, 'refs/pull/7/head', head);
    let refs = await git.listServerRefs({ http, url: server.url('fleet'), prefix: 'refs/pull/' });
    expect(refs).toEqual([{ ref: 'refs/pull/7/head', oid: head }]);
    await deleteRef(repo, 'refs/pull/7/head');
    refs = await git.listServerRefs({ http, url: server.url('fleet'), prefix: 'refs/pull/' });
    expect(refs).toEqual([]);
    expect(Object.keys(await listRefs(repo))).toContain('refs/heads/feature');
  });

  it('commits a folder, optionally under a prefix', async () => {
    const folder = path.join(tmp, 'folder');
    await mkdir(path.join(folder, 'sub'), { recursive: true });
    await writeFile(path.join(folder, 'sub', 'f.yaml'), 'f: 1\n');
    const c = await commitFolder(repo, folder, { branch: 'folder', parent: null });
    const c2 = await commitFolder(repo, folder, { branch: 'folder', prefix: 'clusters/hz' });
    const files = await git.listFiles({ fs, gitdir: repo.dir, ref: c2 });
    expect(files.sort()).toEqual(['clusters/hz/sub/f.yaml', 'sub/f.yaml']);
    expect((await git.listFiles({ fs, gitdir: repo.dir, ref: c })).sort()).toEqual(['sub/f.yaml']);
  });

  it('stops and starts on the same port', async () => {
    const port = server.port;
    await server.stop();
    const err = await git.listServerRefs({ http, url: server.url('fleet') }).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toMatch(/^ECONN(REFUSED|RESET)$/);
    await server.start();
    expect(server.port).toBe(port);
    const refs = await git.listServerRefs({ http, url: server.url('fleet'), prefix: 'refs/heads/main' });
    expect(refs.length).toBe(1);
  });
});
