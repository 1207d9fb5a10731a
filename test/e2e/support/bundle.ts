/**
 * The shipped artifact: `dist/bundle/strata.js`, what the image and the npm bin run. End-to-end
 * tests of the agent and hub run it, so global setup builds it once when it is missing or older
 * than any source file it is made from.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export const BUNDLE = path.resolve('dist/bundle/strata.js');

/** The image's environment for the agent (Dockerfile `ENV`). */
export const IMAGE_ENV = { NODE_ENV: 'production', MALLOC_ARENA_MAX: '1' } as const;

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds the bundle (`npm run -s build`) unless it is newer than every file under the given roots. */
export function ensureBundle(roots = ['agent/src', 'hub/src', 'contract', 'tools']): string {
  const sources = Math.max(...roots.filter((r) => existsSync(r)).map((r) => newestSource(path.resolve(r))));
  if (!existsSync(BUNDLE) || statSync(BUNDLE).mtimeMs < sources) {
    execFileSync('npm', ['run', '-s', 'build'], { stdio: ['ignore', 'inherit', 'inherit'] });
  }
  return BUNDLE;
}
