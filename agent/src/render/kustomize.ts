import type { FileTree } from '../source/tree.js';
import { type ParsedDocument, parseYamlFile } from './documents.js';
import { RenderError } from './errors.js';
import { collectKustomizeInputs, literalDocuments } from './kustomize-inputs.js';
import { jobKey, type ToolResult, type ToolRunner } from './tools.js';

/** Arguments for `kustomize build`: the kustomization's folder only, no plugins, no exec functions, no Helm. */
export function kustomizeArgs(dir: string): string[] {
  return ['build', dir === '' ? '.' : dir, '--load-restrictor', 'LoadRestrictionsRootOnly'];
}

/** A remote base fixed to one commit: `?ref=` (or `?version=`) of 40 hex digits. */
export function pinsCommit(ref: string): boolean {
  const query = ref.slice(ref.indexOf('?') + 1);
  return ref.includes('?') && /(^|&)(ref|version)=[0-9a-f]{40}(&|$)/.test(query);
}

/** The provenance of every object kustomize built from `dir`. */
export const builtByKustomize = (dir: string) => `kustomize from ${dir === '' ? '.' : dir}`;

/** A tool failure as a render error located at the folder (or file) the tool was run for. */
export function toolError(
  file: string,
  tool: string,
  result: Extract<ToolResult, { ok: false }>,
): RenderError {
  return new RenderError({ code: 'tool', file, message: `${tool}: ${result.message}` });
}

/**
 * The objects `kustomize build <dir>` makes, as documents of the layer: built in a throw-away copy
 * of the folders it reads, by the runner passed in. Each document says it was built by kustomize.
 */
export async function buildKustomization(
  tree: FileTree,
  dir: string,
  runner: ToolRunner | undefined,
  maxFileBytes: number,
  remoteBases: readonly string[] = [],
): Promise<{ docs: ParsedDocument[]; errors: RenderError[]; reads: string[] }> {
  const inputs = await collectKustomizeInputs(tree, dir, maxFileBytes, remoteBases);
  const reads = inputs.roots;
  if (inputs.errors.length > 0) return { docs: [], errors: inputs.errors, reads };
  if (!runner) {
    const message = 'kustomize: this command renders plain YAML only; kustomizations need the kustomize tool';
    return { docs: [], errors: [new RenderError({ code: 'tool', file: dir, message })], reads };
  }
  const args = kustomizeArgs(dir);
  const result = await runner.run({
    tool: 'kustomize',
    files: inputs.files,
    args,
    key: jobKey('kustomize', inputs.files, args),
    ...(inputs.remote.length > 0
      ? { remote: { refs: inputs.remote, pinned: inputs.remote.every(pinsCommit) } }
      : {}),
  });
  if (!result.ok) return { docs: [], errors: [toolError(dir, 'kustomize', result)], reads };
  const parsed = parseYamlFile(dir, result.output);
  return { docs: literalDocuments(parsed.docs, builtByKustomize(dir)), errors: parsed.errors, reads };
}
