import * as fs from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../../../../contract/usage.js';
import { LabelListError, parseLabelList } from '../../model/labels.js';
import { FolderTree } from '../../source/folder.js';
import type { FileTree } from '../../source/tree.js';

/** `--repo DIR [--ref REF]`: the folder itself, or one commit of the Git repository in it (no checkout). */
export async function openRepo(repo: string, ref: string | undefined): Promise<FileTree> {
  const info = await stat(repo).catch(() => undefined);
  if (!info?.isDirectory()) throw new UsageError(`--repo: '${repo}' is not a folder`);
  if (ref === undefined) return new FolderTree(repo);
  const isWorkTree = await stat(join(repo, '.git')).then(
    () => true,
    () => false,
  );
  try {
    // Loaded only for --ref: isomorphic-git and pako are a third of what a folder render would load.
    const { openGitTree } = await import('../../source/git-tree.js');
    return await openGitTree({ fs, ...(isWorkTree ? { dir: repo } : { gitdir: repo }), commit: ref });
  } catch (e) {
    throw new UsageError(`--ref: cannot resolve '${ref}' in ${repo}: ${(e as Error).message}`, { cause: e });
  }
}

/** `--labels k=v,k2=v2` → labels; a malformed list is a usage error naming the flag. */
export function parseLabels(text: string): Record<string, string> {
  try {
    return parseLabelList(text);
  } catch (err) {
    if (err instanceof LabelListError) throw new UsageError(`--labels: ${err.message}`, { cause: err });
    throw err;
  }
}
