import * as fs from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { SourceAuth } from '../config/schema.js';
import { GitSource } from '../source/git.js';
import { openGitTree } from '../source/git-tree.js';
import type { FileTree } from '../source/tree.js';

/** A ref opened for preview: its tree and the commit it resolved to. */
export interface OpenedRef {
  ref: string;
  commit: string;
  tree: FileTree;
}

/** The base and head trees of a preview, with the commits they resolved to. */
export interface OpenedRefs {
  base: OpenedRef;
  head: OpenedRef;
  /** Removes any temporary fetch cache. */
  close(): Promise<void>;
}

/** A ref could not be opened; names the repository and the ref. */
export class RefError extends Error {
  constructor(
    readonly repo: string,
    readonly ref: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${repo}: cannot open '${ref}': ${message}`, options);
    this.name = 'RefError';
  }
}

/** Whether a repository argument is a remote URL rather than a local folder. */
export function isRemote(repo: string): boolean {
  return /^https?:\/\//i.test(repo);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function openLocal(repo: string, refs: [string, string]): Promise<OpenedRefs> {
  if (!(await exists(repo))) throw new RefError(repo, refs[0], 'no such folder');
  const location = (await exists(join(repo, '.git')))
    ? { dir: repo }
    : (await exists(join(repo, 'objects')))
      ? { gitdir: repo }
      : undefined;
  if (!location) throw new RefError(repo, refs[0], 'not a Git repository (a preview compares two commits)');
  const open = async (ref: string): Promise<OpenedRef> => {
    try {
      const tree = await openGitTree({ fs, ...location, commit: ref });
      return { ref, commit: tree.commit, tree };
    } catch (e) {
      throw new RefError(repo, ref, (e as Error).message, { cause: e });
    }
  };
  return { base: await open(refs[0]), head: await open(refs[1]), close: async () => {} };
}

async function openRemote(
  url: string,
  refs: [string, string],
  opts: { auth?: SourceAuth; timeoutMs: number; log: Logger },
): Promise<OpenedRefs> {
  const cacheDir = await mkdtemp(join(tmpdir(), 'strata-preview-'));
  const close = () => rm(cacheDir, { recursive: true, force: true });
  try {
    const source = await GitSource.open({
      url,
      ref: refs[0],
      cacheDir,
      timeoutMs: opts.timeoutMs,
      log: opts.log,
      ...(opts.auth ? { auth: opts.auth } : {}),
    });
    const open = async (ref: string): Promise<OpenedRef> => {
      try {
        const commit = await source.fetchRef(ref);
        return { ref, commit, tree: await source.tree(commit) };
      } catch (e) {
        throw new RefError(source.displayUrl, ref, (e as Error).message, { cause: e });
      }
    };
    return { base: await open(refs[0]), head: await open(refs[1]), close };
  } catch (e) {
    await close();
    throw e;
  }
}

/**
 * Opens the base and head refs of a local repository (work tree or bare) or of a remote one,
 * fetched with the agent's Git source into a temporary cache that `close()` removes.
 */
export function openRefs(
  repo: string,
  base: string,
  head: string,
  opts: { auth?: SourceAuth; timeoutMs?: number; log: Logger },
): Promise<OpenedRefs> {
  return isRemote(repo)
    ? openRemote(repo, [base, head], { ...opts, timeoutMs: opts.timeoutMs ?? 120_000 })
    : openLocal(repo, [base, head]);
}
