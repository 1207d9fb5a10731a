/**
 * The Go tools the tests run for real (kustomize, helm, sops, age, the CNCF registry), built from
 * their pinned modules by tools/build.sh and cached outside the repository by their inputs.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');

export type ToolName = 'kustomize' | 'helm' | 'sops' | 'age' | 'age-keygen' | 'registry';

/** A cold build compiles the tool and much of its dependencies: minutes on two cores; later calls are instant. */
export const TOOL_BUILD_TIMEOUT_MS = 30 * 60_000;

const built = new Map<ToolName, string>();

/** Path of a tool's binary, building it on first use (concurrent callers wait for one build). */
export function toolPath(name: ToolName): string {
  let path = built.get(name);
  if (path === undefined) {
    path = execFileSync('bash', [resolve(REPO_ROOT, 'tools/build.sh'), name], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: TOOL_BUILD_TIMEOUT_MS,
    }).trim();
    built.set(name, path);
  }
  return path;
}

/** `STRATA_KUSTOMIZE` and `STRATA_HELM` for a `strata` child process that renders the example fleet. */
export function renderToolsEnv(): { STRATA_KUSTOMIZE: string; STRATA_HELM: string } {
  return { STRATA_KUSTOMIZE: toolPath('kustomize'), STRATA_HELM: toolPath('helm') };
}
