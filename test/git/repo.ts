/**
 * Helpers that shape bare test repositories with the real `git` CLI, without a working clone:
 * commits are built with a temporary index (hash-object, update-index, write-tree, commit-tree),
 * so moving a branch backwards is exactly what a force-push leaves on the server.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TestRepo {
  /** Name under the server root, without `.git`. */
  name: string;
  /** Absolute path of the bare repository. */
  dir: string;
}

/** File contents by repository path; `null` deletes the path from the branch's tree. */
export type FileSet = Record<string, string | Uint8Array | null>;

/** A FileSet that may also hold symlinks (`{ symlink: target }`, committed with mode 120000). */
export type TreeFileSet = Record<string, string | Uint8Array | { symlink: string } | null>;

export interface CommitOptions {
  branch?: string;
  message?: string;
  /** Start from an empty tree instead of the branch's current tree. */
  replace?: boolean;
  /** Parent commit; default the branch's current commit (none for a new branch). */
  parent?: string | null;
  /** Author/committer date (ISO or unix seconds) for reproducible commit ids. */
  date?: string;
}

const IDENTITY = {
  GIT_AUTHOR_NAME: 'Strata Test',
  GIT_AUTHOR_EMAIL: 'test@strata.invalid',
  GIT_COMMITTER_NAME: 'Strata Test',
  GIT_COMMITTER_EMAIL: 'test@strata.invalid',
};

/** Run git and return trimmed stdout; rejects with git's stderr in the message. */
export function git(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string | Uint8Array } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      args,
      { cwd: opts.cwd, env: { ...process.env, ...IDENTITY, ...opts.env }, maxBuffer: 256 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`git ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
        else resolve(stdout.trim());
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Create `<root>/<name>.git`, a bare repository whose HEAD names `defaultBranch`. */
export async function createRepo(root: string, name: string, defaultBranch = 'main'): Promise<TestRepo> {
  const dir = path.join(root, `${name}.git`);
  await mkdir(dir, { recursive: true });
  await git(['init', '--quiet', '--bare', `--initial-branch=${defaultBranch}`, dir]);
  await git(['config', 'http.receivepack', 'true'], { cwd: dir });
  await git(['config', 'uploadpack.allowAnySHA1InWant', 'true'], { cwd: dir });
  return { name, dir };
}

/** The commit a ref points at, or undefined when the ref does not exist. */
export async function resolveRef(repo: TestRepo, ref: string): Promise<string | undefined> {
  try {
    return await git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd: repo.dir });
  } catch {
    return undefined;
  }
}

/** Commit `files` on top of a branch (or its `parent`) and move the branch there. Returns the commit. */
export async function commitFiles(
  repo: TestRepo,
  files: TreeFileSet,
  opts: CommitOptions = {},
): Promise<string> {
  const branch = opts.branch ?? 'main';
  const parent = opts.parent === undefined ? await resolveRef(repo, `refs/heads/${branch}`) : opts.parent;
  const scratch = await mkdtemp(path.join(tmpdir(), 'strata-git-'));
  const env = { GIT_INDEX_FILE: path.join(scratch, 'index'), ...dateEnv(opts.date) };
  try {
    if (parent && !opts.replace) await git(['read-tree', parent], { cwd: repo.dir, env });
    else await git(['read-tree', '--empty'], { cwd: repo.dir, env });
    await stageFiles(repo, files, scratch, env);
    const commit = await writeCommit(repo, env, parent ?? null, opts.message ?? 'test commit');
    await setRef(repo, `refs/heads/${branch}`, commit);
    return commit;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Commit the whole content of a folder (replacing the branch's tree, or under `prefix`). */
export async function commitFolder(
  repo: TestRepo,
  folder: string,
  opts: CommitOptions & { prefix?: string } = {},
): Promise<string> {
  const branch = opts.branch ?? 'main';
  const parent = opts.parent === undefined ? await resolveRef(repo, `refs/heads/${branch}`) : opts.parent;
  const scratch = await mkdtemp(path.join(tmpdir(), 'strata-git-'));
  const env = { GIT_INDEX_FILE: path.join(scratch, 'index'), ...dateEnv(opts.date) };
  try {
    const base = ['--git-dir', repo.dir, '--work-tree', folder];
    if (opts.prefix) {
      // Stage the folder alone in a second index, then graft its tree under the prefix.
      const subEnv = { ...env, GIT_INDEX_FILE: path.join(scratch, 'sub') };
      await git([...base, 'add', '-A', '.'], { env: subEnv });
      const subTree = await git([...base, 'write-tree'], { env: subEnv });
      if (parent && !opts.replace) await git([...base, 'read-tree', parent], { env });
      else await git([...base, 'read-tree', '--empty'], { env });
      await git([...base, 'rm', '-r', '-q', '--cached', '--ignore-unmatch', '--', opts.prefix], { env });
      await git([...base, 'read-tree', `--prefix=${opts.prefix.replace(/\/?$/, '/')}`, subTree], { env });
    } else {
      await git([...base, 'read-tree', '--empty'], { env });
      await git([...base, 'add', '-A', '.'], { env });
    }
    const commit = await writeCommit(repo, env, parent ?? null, opts.message ?? `commit ${folder}`);
    await setRef(repo, `refs/heads/${branch}`, commit);
    return commit;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Point any ref (a branch, a tag, `refs/pull/7/head`) at a commit, creating it if needed. */
export async function setRef(repo: TestRepo, ref: string, commit: string): Promise<void> {
  await git(['update-ref', ref, commit], { cwd: repo.dir });
}

/** Move a branch to any commit, also an older one — what a `git push --force` leaves behind. */
export function forcePush(repo: TestRepo, branch: string, commit: string): Promise<void> {
  return setRef(repo, `refs/heads/${branch}`, commit);
}

export async function deleteRef(repo: TestRepo, ref: string): Promise<void> {
  await git(['update-ref', '-d', ref], { cwd: repo.dir });
}

/** All refs of the repository with their commits. */
export async function listRefs(repo: TestRepo): Promise<Record<string, string>> {
  const out = await git(['for-each-ref', '--format=%(refname) %(objectname)'], { cwd: repo.dir });
  const refs: Record<string, string> = {};
  for (const line of out.split('\n').filter(Boolean)) {
    const [ref, sha] = line.split(' ');
    if (ref && sha) refs[ref] = sha;
  }
  return refs;
}

async function stageFiles(
  repo: TestRepo,
  files: TreeFileSet,
  scratch: string,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const entries = Object.entries(files);
  const removed = entries.filter(([, c]) => c === null).map(([p]) => p);
  const written = entries.filter(
    (e): e is [string, string | Uint8Array | { symlink: string }] => e[1] !== null,
  );
  if (removed.length) {
    // Mode 0 in --index-info removes the path; this needs no work tree.
    const zero = '0'.repeat(40);
    const info = removed.map((p) => `0 ${zero}\t${p}\0`).join('');
    await git(['update-index', '-z', '--index-info'], { cwd: repo.dir, env, input: info });
  }
  if (!written.length) return;
  const blobs = path.join(scratch, 'blobs');
  await mkdir(blobs);
  const blobPaths = await Promise.all(
    written.map(async ([, content], i) => {
      const p = path.join(blobs, String(i));
      // A symlink is a blob holding its target, with mode 120000.
      await writeFile(
        p,
        typeof content === 'string' || content instanceof Uint8Array ? content : content.symlink,
      );
      return p;
    }),
  );
  const shas = (
    await git(['hash-object', '-w', '--no-filters', '--stdin-paths'], {
      cwd: repo.dir,
      input: `${blobPaths.join('\n')}\n`,
    })
  ).split('\n');
  const mode = (c: string | Uint8Array | { symlink: string }) =>
    typeof c === 'string' || c instanceof Uint8Array ? '100644' : '120000';
  const info = written.map(([p, c], i) => `${mode(c)} ${shas[i]}\t${p}\0`).join('');
  await git(['update-index', '--add', '-z', '--index-info'], { cwd: repo.dir, env, input: info });
}

async function writeCommit(
  repo: TestRepo,
  env: NodeJS.ProcessEnv,
  parent: string | null,
  message: string,
): Promise<string> {
  const tree = await git(['write-tree'], { cwd: repo.dir, env });
  const args = ['commit-tree', tree, '-m', message];
  if (parent) args.push('-p', parent);
  return git(args, { cwd: repo.dir, env });
}

function dateEnv(date: string | undefined): NodeJS.ProcessEnv {
  return date ? { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } : {};
}
