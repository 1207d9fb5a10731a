import { posix } from 'node:path';
import { FileTooLargeError, type FileTree, type TreeEntry } from '../source/tree.js';
import { RenderError } from './errors.js';
import { kustomizationIn } from './kustomize-inputs.js';

/** A YAML file of a layer: where it was found and the text it holds. */
export interface LayerFile {
  path: string;
  text: string;
}

/** A folder holding a kustomization: built by kustomize as a whole, in the walk's place. */
export interface KustomizeFolder {
  path: string;
  /** The folder's real repository path (after symlinks). */
  kustomize: string;
}

/** Bounds on what render reads from a tree: file size, symlink hops, depth. */
export interface FileLimits {
  /** Largest file read, in bytes. */
  maxFileBytes: number;
}

/** The largest file render reads by default (5 MiB): a bigger one is refused, naming it. */
export const DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024;
const MAX_LINK_HOPS = 8;
const MAX_DEPTH = 32;

const isYaml = (name: string) => name.endsWith('.yaml') || name.endsWith('.yml');
/** Dot-files and `_preview/` folders are never part of a render. */
const isIgnored = (name: string, type: TreeEntry['type']) =>
  name.startsWith('.') || (type !== 'file' && name === '_preview');
const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1);
/** Sorted as full paths are (`b.yaml` before `b/x.yaml`), the order Git keeps trees in. */
const sortKey = (e: TreeEntry) => (e.type === 'dir' ? `${e.path}/` : e.path);
const byPath = (a: TreeEntry, b: TreeEntry) =>
  sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0;

async function entryAt(tree: FileTree, path: string): Promise<TreeEntry | undefined> {
  if (path === '') return { path: '', type: 'dir' };
  const entries = await tree.list(posix.dirname(path) === '.' ? '' : posix.dirname(path));
  return entries?.find((e) => e.path === path);
}

/** Follows a symlink to the entry it names, refusing targets outside the repository. */
async function followLink(tree: FileTree, link: TreeEntry): Promise<TreeEntry | RenderError> {
  try {
    return await followLinkChain(tree, link);
  } catch (e) {
    return new RenderError({ code: 'file', file: link.path, message: (e as Error).message });
  }
}

async function followLinkChain(tree: FileTree, link: TreeEntry): Promise<TreeEntry | RenderError> {
  let entry = link;
  for (let hop = 0; hop < MAX_LINK_HOPS && entry.type === 'symlink'; hop++) {
    const target = await tree.readLink(entry.path);
    const resolved = posix.normalize(posix.join(posix.dirname(entry.path), target));
    if (posix.isAbsolute(target) || resolved === '..' || resolved.startsWith('../')) {
      return new RenderError({
        code: 'file',
        file: link.path,
        message: `symlink to '${target}' leaves the repository; refused`,
      });
    }
    const next = await entryAt(tree, resolved === '.' ? '' : resolved);
    if (!next)
      return new RenderError({
        code: 'file',
        file: link.path,
        message: `symlink target '${target}' does not exist`,
      });
    entry = next;
  }
  if (entry.type === 'symlink') {
    return new RenderError({
      code: 'file',
      file: link.path,
      message: `more than ${MAX_LINK_HOPS} symlinks in a row`,
    });
  }
  return entry;
}

async function readText(tree: FileTree, entry: TreeEntry, shownAs: string, limits: FileLimits) {
  if (entry.size !== undefined && entry.size > limits.maxFileBytes) {
    return new RenderError({
      code: 'file',
      file: shownAs,
      message: `file is ${entry.size} bytes, over the ${limits.maxFileBytes}-byte limit; refused`,
    });
  }
  try {
    const bytes = await tree.read(entry.path, limits.maxFileBytes);
    if (bytes.byteLength > limits.maxFileBytes) {
      return new RenderError({
        code: 'file',
        file: shownAs,
        message: `file is ${bytes.byteLength} bytes, over the ${limits.maxFileBytes}-byte limit; refused`,
      });
    }
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    if (e instanceof FileTooLargeError) {
      return new RenderError({
        code: 'file',
        file: shownAs,
        message: `file is ${e.size} bytes, over the ${limits.maxFileBytes}-byte limit; refused`,
      });
    }
    const reason = e instanceof TypeError ? 'file is not valid UTF-8' : (e as Error).message;
    return new RenderError({ code: 'file', file: shownAs, message: reason });
  }
}

/**
 * The real folder a layer path names, following symlinks on the way with the tree's own entries,
 * so that a folder and a Git commit of the same files resolve alike: a symlink inside the
 * repository is followed by both readers, one leaving it is refused by both, with its place.
 * `undefined` when there is no such folder.
 */
async function resolveDir(tree: FileTree, dir: string): Promise<string | RenderError | undefined> {
  let resolved = '';
  for (const segment of dir.split('/')) {
    if (segment === '') continue;
    const path = resolved === '' ? segment : `${resolved}/${segment}`;
    const entry = await entryAt(tree, path).catch(() => undefined);
    if (!entry) return undefined;
    const real = entry.type === 'symlink' ? await followLink(tree, entry) : entry;
    if (real instanceof RenderError) return real;
    if (real.type !== 'dir') return undefined;
    resolved = real.path;
  }
  return resolved;
}

/**
 * Every YAML file under `dir`, walked recursively in sorted order; `undefined` when the folder does
 * not exist. A folder with a kustomization (the layer itself, too) is not walked: it is listed, in
 * its place, for kustomize to build. Problems (oversized files, symlinks leaving the repository)
 * come back as errors.
 */
export async function readLayerFiles(tree: FileTree, dir: string, limits: FileLimits) {
  const files: (LayerFile | KustomizeFolder)[] = [];
  const errors: RenderError[] = [];
  const list = async (path: string) => {
    try {
      return await tree.list(path);
    } catch (e) {
      errors.push(new RenderError({ code: 'file', file: path, message: (e as Error).message }));
      return [];
    }
  };
  const resolved = await resolveDir(tree, dir);
  if (resolved instanceof RenderError) return { files, errors: [resolved] };
  if (resolved === undefined) return undefined;
  const root = await list(resolved);
  if (!root) return undefined;
  const visited = new Set<string>([resolved]);
  const walk = async (entries: TreeEntry[], shownDir: string, depth: number, real: string): Promise<void> => {
    if (kustomizationIn(entries)) {
      files.push({ path: shownDir, kustomize: real });
      return;
    }
    for (const entry of [...entries].sort(byPath)) {
      const name = baseName(entry.path);
      const shown = shownDir === '' ? name : `${shownDir}/${name}`;
      if (isIgnored(name, entry.type)) continue;
      const real = entry.type === 'symlink' ? await followLink(tree, entry) : entry;
      if (real instanceof RenderError) {
        errors.push(real);
        continue;
      }
      if (real.type === 'dir') {
        if (visited.has(real.path) || depth >= MAX_DEPTH) continue;
        visited.add(real.path);
        await walk((await list(real.path)) ?? [], shown, depth + 1, real.path);
      } else if (isYaml(name)) {
        const text = await readText(tree, real, shown, limits);
        if (text instanceof RenderError) errors.push(text);
        else files.push({ path: shown, text });
      }
    }
  };
  await walk(root, dir, 0, resolved);
  return { files, errors };
}

/** One file at the repository root (strata.yaml), or `undefined` when absent. */
export async function readRootFile(tree: FileTree, path: string, limits: FileLimits) {
  const entry = await entryAt(tree, path);
  if (!entry) return undefined;
  const real = entry.type === 'symlink' ? await followLink(tree, entry) : entry;
  if (real instanceof RenderError) return real;
  if (real.type !== 'file') return new RenderError({ code: 'file', file: path, message: 'must be a file' });
  return readText(tree, real, path, limits);
}
