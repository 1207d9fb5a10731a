/**
 * A read-only tree of files: a folder on disk or one commit of a Git repository.
 * Render reads the fleet repository only through this interface, so it never needs a checkout.
 * Paths are repository-relative POSIX paths without a leading slash; the root is ''.
 */
export interface TreeEntry {
  /** Repository-relative path, e.g. `regions/cn-hangzhou/web.yaml`. */
  path: string;
  type: 'file' | 'dir' | 'symlink';
  /** Size in bytes, when the tree knows it without reading the file. */
  size?: number;
}

/** A read-only tree of files, from Git or a folder: what render reads. */
export interface FileTree {
  /** For messages: the folder path, or `repo@commit`. */
  readonly description: string;
  /** Entries directly inside `dir`, or `undefined` when `dir` does not exist or is not a folder. */
  list(dir: string): Promise<TreeEntry[] | undefined>;
  /** A file's bytes. Rejects, naming the path, when the file is larger than `maxBytes`. */
  read(path: string, maxBytes: number): Promise<Uint8Array>;
  /** A symlink's target, exactly as stored. */
  readLink(path: string): Promise<string>;
}

/**
 * What `read` rejects with when a file is over its limit: render names the file with the same
 * message whichever tree it reads (a Git tree learns the size only by reading the blob).
 */
export class FileTooLargeError extends Error {
  constructor(
    readonly path: string,
    readonly size: number,
    readonly maxBytes: number,
  ) {
    super(`'${path}' is ${size} bytes, over the ${maxBytes}-byte limit`);
    this.name = 'FileTooLargeError';
  }
}
