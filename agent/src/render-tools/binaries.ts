import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type { ToolBinaries } from './runner.js';

/**
 * Where kustomize and helm are: an explicit path (flag or config) wins, then `STRATA_KUSTOMIZE` /
 * `STRATA_HELM`, then the first on PATH. Resolved once at start, so the children never search PATH.
 */
export function findToolBinaries(
  explicit: ToolBinaries,
  env: Record<string, string | undefined>,
): ToolBinaries {
  const found: ToolBinaries = {};
  for (const tool of ['kustomize', 'helm'] as const) {
    const given = explicit[tool] ?? env[`STRATA_${tool.toUpperCase()}`];
    const path = given ? resolve(given) : onPath(tool, env.PATH ?? '');
    if (path) found[tool] = path;
  }
  return found;
}

function onPath(name: string, path: string): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}
