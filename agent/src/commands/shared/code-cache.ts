import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

type Command = (argv: string[]) => Promise<number>;
type Commands = Record<string, () => Promise<Command>>;

// Through require, not `import … from 'node:fs'`: an ES module import of a built-in builds its
// export facade, which reads every lazy export: all of node:stream for node:fs, WebCrypto for
// node:crypto (several ms a run, before any work).
const builtin = createRequire(import.meta.url);
const { readFileSync, writeFileSync } = builtin('node:fs') as typeof import('node:fs');
const { createHash } = builtin('node:crypto') as typeof import('node:crypto');

/** Set at build time (tools/bundle.ts) to record the code cache from one training run. */
export const CODE_CACHE_WRITE_ENV = 'STRATA_CODE_CACHE_WRITE';

/** A CommonJS script run from its V8 code cache; `cache` says whether V8 took the cache. */
export interface CachedScript {
  exports: Record<string, unknown>;
  cache: 'used' | 'rejected' | 'none' | 'recording';
  /** Writes the cache of everything compiled so far (call it late: after the work to be cached). */
  save(): void;
}

/**
 * Runs the CommonJS script `file` (as Node's loader would: `require`, `module`, `__filename`) from
 * its code cache `FILE.cache`. V8 checks a cache against its own version and flags, and ignores one
 * that does not match: the code then compiles as usual, only slower. Of the source V8 checks only
 * the length, so the cache starts with the source's SHA-1 and is not even offered to V8 for
 * another source (stale bytecode would run the old code). With `record`, no cache is read, and
 * `save()` writes a new one. `undefined` when `file` does not exist.
 */
export function runCachedScript(file: string, record = false): CachedScript | undefined {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const cacheFile = `${file}.cache`;
  const digest = createHash('sha1').update(source).digest();
  let cachedData: Buffer | undefined;
  let stale = false;
  if (!record) {
    try {
      const stored = readFileSync(cacheFile);
      stale = !stored.subarray(0, digest.length).equals(digest);
      cachedData = stale ? undefined : stored.subarray(digest.length);
    } catch {
      cachedData = undefined;
    }
  }
  const wrapped = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
  const script = new Script(wrapped, { filename: file, ...(cachedData ? { cachedData } : {}) });
  const module = { exports: {} as Record<string, unknown> };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
  const save = () => writeFileSync(cacheFile, Buffer.concat([digest, script.createCachedData()]));
  const cache = record
    ? 'recording'
    : stale || (cachedData && script.cachedDataRejected)
      ? 'rejected'
      : cachedData
        ? 'used'
        : 'none';
  return { exports: module.exports, cache, save };
}

/**
 * The one-shot verbs from `oneshot.cjs` beside the running bundle, compiled from the code cache
 * written at build time from a real render, or `undefined` when there is no such bundle (running
 * from source or from the tsc output). Node 20 has no compile cache for ES modules, and compiling
 * the code a render needs was a quarter of a small render's time; a CommonJS script run through
 * `vm.Script` takes V8's cached bytecode instead. The long-running agent and hub never come this
 * way: a code cache makes V8 keep bytecode for functions they may never call.
 */
export function quickCommandsBeside(bundleUrl: string): Commands | undefined {
  const file = fileURLToPath(new URL('./oneshot.cjs', bundleUrl));
  const record = process.env[CODE_CACHE_WRITE_ENV] === '1';
  const script = runCachedScript(file, record);
  // At exit, so the cache holds every function the run compiled, not only the top level.
  if (record && script) process.once('exit', () => script.save());
  if (process.env.STRATA_DEBUG_CODE_CACHE)
    process.stderr.write(`strata: code cache ${script?.cache ?? 'absent'}\n`);
  return script?.exports.quickCommands as Commands | undefined;
}
