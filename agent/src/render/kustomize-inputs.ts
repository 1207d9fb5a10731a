import { posix } from 'node:path';
import type { FileTree, TreeEntry } from '../source/tree.js';
import { type ParsedDocument, parseYamlFile } from './documents.js';
import { RenderError } from './errors.js';

/** The names kustomize looks for, in its order. */
export const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

/** Fields whose entries may name another kustomization folder (or, remotely, a Git repository). */
const BASE_FIELDS = ['resources', 'bases', 'components'] as const;

/** A working copy larger than this is almost certainly a mistake (a vendored tree, build output). */
export const MAX_KUSTOMIZE_COPY_BYTES = 64 * 1024 * 1024;
const MAX_COPY_FILES = 20_000;

const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1);
const isYaml = (name: string) => name.endsWith('.yaml') || name.endsWith('.yml') || name === 'Kustomization';

/** Whether a folder's entries make it a kustomization. */
export function kustomizationIn(entries: readonly TreeEntry[]): TreeEntry | undefined {
  for (const name of KUSTOMIZATION_FILES) {
    const found = entries.find((e) => baseName(e.path) === name && e.type !== 'dir');
    if (found) return found;
  }
  return undefined;
}

/**
 * Anything kustomize would fetch instead of read: URLs, `git@…`, hosts written without a scheme
 * (`github.com/org/repo//path?ref=v1`), go-getter's `git::`.
 */
export function isRemoteReference(entry: string): boolean {
  return (
    /^[a-z][a-z0-9+.-]*:\/\//i.test(entry) ||
    entry.startsWith('git@') ||
    entry.startsWith('git::') ||
    /^(github\.com|gitlab\.com|bitbucket\.org)\//.test(entry) ||
    /\?(ref|version|submodules|timeout)=/.test(entry)
  );
}

/** Every file a kustomize build of a folder may read, gathered before the tool runs. */
export interface KustomizeInputs {
  /** The files of every kustomization root reached from the folder, by repository path. */
  files: Map<string, Uint8Array>;
  /** The kustomization roots read: the folder and every base and component. */
  roots: string[];
  /** The remote bases named, each allowed by the layer's `remoteBases`. */
  remote: string[];
  errors: RenderError[];
}

/** What is left of the bytes and files one kustomize copy may take. */
export interface CopyBudget {
  bytes: number;
  files: number;
}

/** How files are copied into a tool's working copy. */
export interface CopyOptions {
  /** The path a file gets in the working copy (default: its repository path). */
  as?: (path: string) => string;
  /** Check YAML files with Strata's reader first (refuses alias bombs before a tool sees them). */
  checkYaml: boolean;
  /** Named in errors: `kustomize`, `helm`. */
  tool: string;
}

/**
 * Collects what `kustomize build <dir>` may read: the folder, and every folder its `resources`,
 * `bases` and `components` lead to, each whole (kustomize loads files only from inside a
 * kustomization's root, so these are all it can read). Remote references are refused; so are paths
 * leaving the repository, symlinks (the copy holds plain files only), and YAML that Strata's own
 * reader refuses (alias bombs), each with its file and line.
 */
export async function collectKustomizeInputs(
  tree: FileTree,
  dir: string,
  maxFileBytes: number,
  remoteBases: readonly string[] = [],
): Promise<KustomizeInputs> {
  const files = new Map<string, Uint8Array>();
  const errors: RenderError[] = [];
  const roots = new Set<string>();
  const remote = new Set<string>();
  const queue = [dir];
  const budget: CopyBudget = { bytes: 0, files: 0 };
  while (queue.length > 0 && errors.length === 0) {
    const root = queue.shift()!;
    if (roots.has(root)) continue;
    roots.add(root);
    await copyFolder(tree, root, files, errors, budget, maxFileBytes, { checkYaml: true, tool: 'kustomize' });
    for (const next of await referencedFolders(tree, root, files, errors, remoteBases, remote))
      queue.push(next);
  }
  return { files, roots: [...roots], remote: [...remote], errors };
}

/** Copies a folder of the tree, whole, into `files`; problems become errors naming the file. */
export async function copyFolder(
  tree: FileTree,
  root: string,
  files: Map<string, Uint8Array>,
  errors: RenderError[],
  budget: CopyBudget,
  maxFileBytes: number,
  options: CopyOptions,
): Promise<void> {
  const as = options.as ?? ((p: string) => p);
  const walk = async (path: string, depth: number): Promise<void> => {
    const entries = await tree.list(path);
    if (!entries) {
      errors.push(
        new RenderError({ code: 'file', file: path, message: `${options.tool}: folder does not exist` }),
      );
      return;
    }
    for (const entry of entries) {
      const name = baseName(entry.path);
      if (name === '.git') continue;
      if (entry.type === 'symlink') {
        errors.push(
          new RenderError({
            code: 'file',
            file: entry.path,
            message: `${options.tool}: symlinks are not copied into the tool's working copy; replace it with the file`,
          }),
        );
      } else if (entry.type === 'dir') {
        if (depth < 32) await walk(entry.path, depth + 1);
      } else if (!files.has(as(entry.path))) {
        if (entry.size !== undefined && entry.size > maxFileBytes) {
          errors.push(tooBig(entry.path, entry.size, maxFileBytes));
          continue;
        }
        const bytes = await tree.read(entry.path, maxFileBytes);
        budget.bytes += bytes.byteLength;
        budget.files++;
        if (budget.bytes > MAX_KUSTOMIZE_COPY_BYTES || budget.files > MAX_COPY_FILES) {
          errors.push(
            new RenderError({
              code: 'file',
              file: root,
              message: `${options.tool}: the folders it would read hold more than ${MAX_COPY_FILES} files or ${MAX_KUSTOMIZE_COPY_BYTES} bytes; refused`,
            }),
          );
          return;
        }
        if (options.checkYaml && isYaml(name))
          errors.push(...parseYamlFile(entry.path, decode(bytes)).errors);
        files.set(as(entry.path), bytes);
      }
    }
  };
  await walk(root, 0);
}

const tooBig = (file: string, size: number, max: number) =>
  new RenderError({
    code: 'file',
    file,
    message: `file is ${size} bytes, over the ${max}-byte limit; refused`,
  });

const decode = (bytes: Uint8Array) => new TextDecoder('utf-8').decode(bytes);

/** The folders a kustomization names in `resources`, `bases` and `components`, inside the repository. */
async function referencedFolders(
  tree: FileTree,
  root: string,
  files: Map<string, Uint8Array>,
  errors: RenderError[],
  remoteBases: readonly string[],
  remote: Set<string>,
): Promise<string[]> {
  const kustomizationPath = KUSTOMIZATION_FILES.map((n) => (root === '' ? n : `${root}/${n}`)).find((p) =>
    files.has(p),
  );
  if (!kustomizationPath) return [];
  const parsed = parseYamlFile(kustomizationPath, decode(files.get(kustomizationPath)!));
  const doc = parsed.docs[0];
  if (!doc || typeof doc.value !== 'object' || doc.value === null) return [];
  const value = doc.value as Record<string, unknown>;
  const fail = (path: (string | number)[], message: string) =>
    errors.push(new RenderError({ code: 'file', file: doc.file, doc: 0, ...doc.locate(path), message }));
  if (value.helmCharts !== undefined || value.helmChartInflationGenerator !== undefined) {
    fail(
      [value.helmCharts !== undefined ? 'helmCharts' : 'helmChartInflationGenerator'],
      'kustomize: helmCharts are not inflated inside a kustomization (that would fetch charts from the network); use a strata.dev/v1 HelmChart document',
    );
  }
  const folders: string[] = [];
  for (const field of BASE_FIELDS) {
    const list = value[field];
    if (!Array.isArray(list)) continue;
    for (const [i, entry] of list.entries()) {
      if (typeof entry !== 'string') continue;
      if (isRemoteReference(entry) && remoteBases.some((prefix) => entry.startsWith(prefix))) {
        remote.add(entry);
        continue;
      }
      const folder = await localFolder(tree, root, entry, (message) => fail([field, i], message));
      if (folder !== undefined) folders.push(folder);
    }
  }
  return folders;
}

async function localFolder(
  tree: FileTree,
  root: string,
  entry: string,
  fail: (message: string) => void,
): Promise<string | undefined> {
  if (isRemoteReference(entry)) {
    fail(
      `kustomize: '${entry}' is a remote base, which this layer does not allow; Strata builds kustomizations without network unless the layer lists a URL prefix of the base under remoteBases in strata.yaml`,
    );
    return undefined;
  }
  const resolved = posix.normalize(posix.join(root === '' ? '.' : root, entry));
  if (posix.isAbsolute(entry) || resolved === '..' || resolved.startsWith('../')) {
    fail(`kustomize: '${entry}' leaves the repository; refused`);
    return undefined;
  }
  const path = resolved === '.' ? '' : resolved.replace(/\/$/, '');
  const parent = posix.dirname(path) === '.' ? '' : posix.dirname(path);
  if (path === '') return '';
  const entries = await tree.list(parent);
  const found = entries?.find((e) => e.path === path);
  return found?.type === 'dir' ? path : undefined;
}

/** Output documents from a tool: `${` escaped, so `${cluster.*}` substitution leaves tool output as it was built. */
export function literalDocuments(docs: ParsedDocument[], builtBy: string): ParsedDocument[] {
  return docs.map((doc) => ({ ...doc, value: escapeVariables(doc.value), builtBy }));
}

function escapeVariables(value: unknown): unknown {
  if (typeof value === 'string') return value.includes('${') ? value.replaceAll('${', () => '$${') : value;
  if (Array.isArray(value)) return value.map(escapeVariables);
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === '__proto__') Object.defineProperty(copy, k, { value: escapeVariables(v), enumerable: true });
      else copy[k] = escapeVariables(v);
    }
    return copy;
  }
  return value;
}
