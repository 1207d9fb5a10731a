import { lstat, readdir, readFile, readlink, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { FileTooLargeError, type FileTree, type TreeEntry } from './tree.js';

/** Refuses repository paths that are absolute or climb out with `..`. */
export function checkRelativePath(path: string): string {
  if (path === '') return path;
  if (path.startsWith('/') || path.split('/').some((s) => s === '..' || s === '.' || s === '')) {
    throw new Error(`invalid repository path '${path}'`);
  }
  return path;
}

/**
 * A folder on disk as a FileTree. Every access is checked against the folder's real path, so a
 * symlink (of a file or of a parent folder) can never lead a read outside the repository.
 */
export class FolderTree implements FileTree {
  readonly description: string;
  private realRoot: Promise<string>;

  constructor(readonly root: string) {
    this.description = resolve(root);
    this.realRoot = realpath(root);
  }

  /** The absolute path of `path`, after making sure its real location is inside the repository. */
  private async locate(path: string, followLast: boolean): Promise<string> {
    const root = await this.realRoot;
    const full = join(root, checkRelativePath(path));
    const parent = path === '' ? full : join(full, '..');
    const real = await realpath(followLast ? full : parent);
    const rel = relative(root, real);
    if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
      throw new Error(`'${path}' leads outside the repository through a symlink; refused`);
    }
    return full;
  }

  async list(dir: string): Promise<TreeEntry[] | undefined> {
    let full: string;
    try {
      full = await this.locate(dir, true);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    const dirents = await readdir(full, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOTDIR' || e.code === 'ENOENT') return undefined;
      throw e;
    });
    if (!dirents) return undefined;
    const entries: TreeEntry[] = [];
    for (const d of dirents) {
      const path = dir === '' ? d.name : `${dir}/${d.name}`;
      if (d.isSymbolicLink()) entries.push({ path, type: 'symlink' });
      else if (d.isDirectory()) entries.push({ path, type: 'dir' });
      else if (d.isFile()) entries.push({ path, type: 'file', size: (await lstat(join(full, d.name))).size });
    }
    return entries;
  }

  async read(path: string, maxBytes: number): Promise<Uint8Array> {
    const full = await this.locate(path, true);
    const { size } = await lstat(await realpath(full));
    if (size > maxBytes) throw new FileTooLargeError(path, size, maxBytes);
    return readFile(full);
  }

  async readLink(path: string): Promise<string> {
    return readlink(await this.locate(path, false));
  }
}
