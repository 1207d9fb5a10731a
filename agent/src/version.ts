import { createRequire } from 'node:module';

// Not `import … from 'node:fs'`: that builds node:fs's ES module facade, which loads all of
// node:stream, and this module is on every command's start-up path.
const { readFileSync } = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');

function findVersion(): string {
  // Works from source (agent/src) and from the build (dist/agent/src).
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'strata' && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return '0.0.0';
}

/** The version of the running Strata, from package.json. */
export const VERSION = findVersion();
