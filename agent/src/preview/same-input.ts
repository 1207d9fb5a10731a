import { FLEET_FILE } from '../render/layers.js';
import { INVENTORY_FILE } from '../render/replicas.js';
import type { FileTree, TreeEntry } from '../source/tree.js';

/**
 * Tells whether two trees hold the same render input for a set of layer folders, without reading
 * a file: Git trees carry each entry's object id, so equal ids mean equal content. Only the fleet
 * file, the fleet inventory and the layer folders are compared, because render reads nothing else, except through
 * symlinks: a folder holding one never counts as the same. Trees without object ids (folders on
 * disk) never count as the same either; their clusters are simply rendered twice.
 */
export class SameInput {
  private readonly prints = new Map<string, Promise<string | undefined>>();

  constructor(
    private readonly base: FileTree,
    private readonly head: FileTree,
  ) {}

  /** True when `strata.yaml`, the fleet inventory and every folder in `dirs` are identical in both trees. */
  async same(dirs: readonly string[]): Promise<boolean> {
    // The inventory can change a render (weighted replica division reads it).
    for (const dir of [FLEET_FILE, INVENTORY_FILE, ...dirs]) {
      const [b, h] = await Promise.all([this.print('base', dir), this.print('head', dir)]);
      if (b === undefined || b !== h) return false;
    }
    return true;
  }

  private print(side: 'base' | 'head', path: string): Promise<string | undefined> {
    const key = `${side}:${path}`;
    let print = this.prints.get(key);
    if (!print) {
      const tree = side === 'base' ? this.base : this.head;
      print =
        path === FLEET_FILE || path === INVENTORY_FILE ? filePrint(tree, path) : folderPrint(tree, path);
      this.prints.set(key, print);
    }
    return print;
  }
}

const oidOf = (e: TreeEntry): string | undefined => {
  const oid = (e as TreeEntry & { oid?: unknown }).oid;
  return typeof oid === 'string' ? oid : undefined;
};

async function filePrint(tree: FileTree, file: string): Promise<string | undefined> {
  const root = await tree.list('');
  const entry = root?.find((e) => e.path === file);
  if (!entry) return 'absent';
  return entry.type === 'file' ? oidOf(entry) : undefined;
}

/** Every entry below `dir` with its object id, or undefined when that cannot be known cheaply and safely. */
async function folderPrint(tree: FileTree, dir: string): Promise<string | undefined> {
  const entries = await tree.list(dir);
  if (!entries) return 'absent';
  const parts: string[] = [];
  for (const e of [...entries].sort((a, b) => (a.path < b.path ? -1 : 1))) {
    if (e.type === 'symlink') return undefined;
    const oid = oidOf(e);
    if (!oid) return undefined;
    parts.push(`${e.type} ${e.path} ${oid}`);
    if (e.type === 'dir') {
      const inner = await folderPrint(tree, e.path);
      if (inner === undefined) return undefined;
      parts.push(inner);
    }
  }
  return parts.join('\n');
}
