/**
 * A local folder as a source, for a fast edit → apply loop. Its "commit" is a digest of the file
 * list with sizes and modification times, so the loop and the hub can tell versions apart.
 */
import { createHash } from 'node:crypto';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { FolderTree } from './folder.js';
import type { SourceState } from './state.js';
import type { FileTree } from './tree.js';

/** Folder walks stop here: a folder source is meant for a fleet repository, not a disk. */
const MAX_ENTRIES = 200_000;

/** A local folder as a source: its content hash stands for the commit. */
export class FolderSource {
  private current: SourceState = { commit: null, fetchedAt: null, reachable: true, error: null };

  constructor(
    readonly root: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  get state(): SourceState {
    return { ...this.current };
  }

  /** Re-read the folder's version; a missing folder keeps the last version and says so. */
  async fetch(): Promise<SourceState> {
    try {
      const commit = await folderDigest(this.root);
      this.current = { commit, fetchedAt: this.now().toISOString(), reachable: true, error: null };
    } catch (err) {
      const since = this.current.error?.since ?? this.now().toISOString();
      const message = `${this.root}: ${(err as Error).message}`;
      this.current = {
        ...this.current,
        reachable: false,
        error: { reason: 'SourceUnavailable', message, since },
      };
    }
    return this.state;
  }

  tree(): FileTree {
    return new FolderTree(this.root);
  }
}

/** `dir-` + 40 hex of sha256 over (path, size, mtime) of every entry, sorted. */
export async function folderDigest(root: string): Promise<string> {
  const hash = createHash('sha256');
  let count = 0;
  const walk = async (dir: string): Promise<void> => {
    const entries = (await readdir(path.join(root, dir), { withFileTypes: true })).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const entry of entries) {
      if (++count > MAX_ENTRIES)
        throw new Error(`more than ${MAX_ENTRIES} entries; is this the fleet repository?`);
      const rel = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.name === '.git') continue;
      const info = await lstat(path.join(root, rel));
      hash.update(`${rel}\0${info.size}\0${info.mtimeMs}\0${entry.isDirectory() ? 'd' : 'f'}\n`);
      if (entry.isDirectory()) await walk(rel);
    }
  };
  await walk('');
  return `dir-${hash.digest('hex').slice(0, 40)}`;
}
