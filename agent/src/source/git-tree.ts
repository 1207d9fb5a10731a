import git from 'isomorphic-git';
import { checkRelativePath } from './folder.js';
import { FileTooLargeError, type FileTree, type TreeEntry } from './tree.js';

type GitFs = Parameters<typeof git.readTree>[0]['fs'];

/** Bounds on reading a commit's tree: blob size and entry count. */
export interface GitTreeOptions {
  /** A Node `fs` (or any isomorphic-git fs client). */
  fs: GitFs;
  /** The working-tree folder (`dir/.git` is used) … */
  dir?: string;
  /** … or the Git directory itself (a bare repository or a fetch cache). */
  gitdir?: string;
  /** A commit id (full or abbreviated), a branch, a tag or any ref. */
  commit: string;
  /** isomorphic-git's cache of parsed packfiles to share (e.g. with a check that read the commit first). */
  cache?: GitCache;
}

/**
 * isomorphic-git's per-caller cache of packfile indexes and packs. Without one, every object read
 * loads and parses every pack index again; with one, it lives as long as its holder (one tree).
 */
export type GitCache = Record<string, unknown>;

interface GitEntry extends TreeEntry {
  oid: string;
}

const TYPES: Record<string, TreeEntry['type'] | undefined> = {
  '040000': 'dir',
  '100644': 'file',
  '100755': 'file',
  '120000': 'symlink',
};

/** Peels a ref, abbreviated id or annotated tag down to a commit id. */
export async function resolveCommit(
  options: Omit<GitTreeOptions, 'commit'> & { ref: string },
): Promise<string> {
  const { fs, dir, gitdir, ref, cache = {} } = options;
  let oid: string;
  if (/^[0-9a-f]{4,40}$/i.test(ref)) {
    oid = await git
      .expandOid({ fs, dir, gitdir, oid: ref.toLowerCase(), cache })
      .catch(() => git.resolveRef({ fs, dir, gitdir, ref }));
  } else {
    oid = await git.resolveRef({ fs, dir, gitdir, ref });
  }
  for (let i = 0; i < 10; i++) {
    const { type, object } = await git.readObject({ fs, dir, gitdir, oid, format: 'parsed', cache });
    if (type === 'commit') return oid;
    if (type !== 'tag') throw new Error(`'${ref}' names a ${type}, not a commit`);
    oid = (object as { object: string }).object;
  }
  throw new Error(`'${ref}': too many nested tags`);
}

/**
 * One commit of a local Git repository as a FileTree, read straight from the object store
 * (loose objects and packfiles) with isomorphic-git: no checkout, no working tree needed.
 */
export class GitTree implements FileTree {
  readonly description: string;
  private readonly listings = new Map<string, Promise<GitEntry[] | undefined>>();
  constructor(
    private readonly fs: GitFs,
    private readonly location: { dir?: string; gitdir?: string },
    readonly commit: string,
    /** isomorphic-git's cache of parsed packfiles, shared by every read of this tree. */
    private readonly cache: GitCache = {},
  ) {
    this.description = `${location.gitdir ?? location.dir}@${commit.slice(0, 12)}`;
  }

  async list(dir: string): Promise<TreeEntry[] | undefined> {
    checkRelativePath(dir);
    let listing = this.listings.get(dir);
    if (!listing) {
      listing = this.readListing(dir);
      this.listings.set(dir, listing);
    }
    return listing;
  }

  /**
   * Walks down from the commit's root tree, one cached listing per folder. A folder missing from its
   * parent's listing is `undefined`; a tree object missing from the store (a damaged cache) is an
   * error, never an empty folder, so a broken cache can never render fewer objects and prune.
   */
  private async readListing(dir: string): Promise<GitEntry[] | undefined> {
    let oid = this.commit;
    if (dir !== '') {
      const slash = dir.lastIndexOf('/');
      const parent = await this.list(slash < 0 ? '' : dir.slice(0, slash));
      const found = (parent as GitEntry[] | undefined)?.find((e) => e.path === dir);
      if (found?.type !== 'dir') return undefined;
      oid = found.oid;
    }
    const { tree } = await git.readTree({ fs: this.fs, ...this.location, oid, cache: this.cache });
    return tree.flatMap((e) => {
      const type = TYPES[e.mode];
      return type ? [{ path: dir === '' ? e.path : `${dir}/${e.path}`, type, oid: e.oid }] : [];
    });
  }

  private async entry(path: string): Promise<GitEntry> {
    checkRelativePath(path);
    const slash = path.lastIndexOf('/');
    const entries = (await this.list(slash < 0 ? '' : path.slice(0, slash))) as GitEntry[] | undefined;
    const found = entries?.find((e) => e.path === path);
    if (!found) throw new Error(`'${path}' does not exist in ${this.description}`);
    return found;
  }

  async read(path: string, maxBytes: number): Promise<Uint8Array> {
    const { oid, type } = await this.entry(path);
    if (type !== 'file') throw new Error(`'${path}' is a ${type}, not a file`);
    const { blob } = await git.readBlob({ fs: this.fs, ...this.location, oid, cache: this.cache });
    if (blob.byteLength > maxBytes) throw new FileTooLargeError(path, blob.byteLength, maxBytes);
    return blob;
  }

  async readLink(path: string): Promise<string> {
    const { oid, type } = await this.entry(path);
    if (type !== 'symlink') throw new Error(`'${path}' is not a symlink`);
    const { blob } = await git.readBlob({ fs: this.fs, ...this.location, oid, cache: this.cache });
    return new TextDecoder().decode(blob);
  }
}

/** Opens one commit (id or ref) of a local repository or fetch cache as a FileTree. */
export async function openGitTree(options: GitTreeOptions): Promise<GitTree> {
  const { fs, dir, gitdir, commit, cache = {} } = options;
  const oid = await resolveCommit({ fs, dir, gitdir, ref: commit, cache });
  return new GitTree(fs, { dir, gitdir }, oid, cache);
}
