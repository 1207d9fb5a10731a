/** A source's sub-path as its own FileTree: render sees `path/` of the repository as the root. */
import type { FileTree, TreeEntry } from './tree.js';

/** The part of a tree below a folder, as a tree of its own (a source's `path`). */
export function subTree(tree: FileTree, prefix: string): FileTree {
  const base = prefix.replace(/^\/+|\/+$/g, '');
  if (!base) return tree;
  const inner = (p: string) => (p ? `${base}/${p}` : base);
  const outer = (p: string) => p.slice(base.length + 1);
  return {
    description: `${tree.description}:${base}`,
    async list(dir: string): Promise<TreeEntry[] | undefined> {
      const entries = await tree.list(inner(dir));
      return entries?.map((e) => ({ ...e, path: outer(e.path) }));
    },
    read: (path, maxBytes) => tree.read(inner(path), maxBytes),
    readLink: (path) => tree.readLink(inner(path)),
  };
}
