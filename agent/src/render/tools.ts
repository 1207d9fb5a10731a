import { createHash } from 'node:crypto';

/** The external renderers a layer may use. */
export type ToolName = 'kustomize' | 'helm';

/**
 * One run of kustomize or helm, described as data: the files of a throw-away working copy and the
 * arguments. The renderer builds jobs; a ToolRunner (outside the pure core) runs them.
 */
export interface ToolJob {
  tool: ToolName;
  /** The working copy: repository-relative (or job-relative) POSIX paths → bytes. */
  files: ReadonlyMap<string, Uint8Array>;
  /** Arguments after the binary; paths in them are relative to the working copy's root. */
  args: readonly string[];
  /** Hash of `tool`, `files` and `args` (`jobKey`): equal keys give equal output for one tool version. */
  key: string;
  /**
   * The job fetches remote kustomize bases its layer allows (strata.yaml `remoteBases`): it runs
   * with the network and `git`. Absent: no network at all.
   */
  remote?: {
    /** The remote references it names (for logs). */
    refs: readonly string[];
    /**
     * Every one pins a commit (`?ref=<40 hex>`), so `key` fixes the output and it may be cached;
     * otherwise it is built afresh on every render, as a branch or tag can move.
     */
    pinned: boolean;
  };
}

/** Why a run produced no output. */
export type ToolFailureReason = 'failed' | 'timeout' | 'memory' | 'output' | 'unavailable';

/** What one tool run gave: its output, or why it failed (timeout, memory, output size, exit). */
export type ToolResult =
  | { ok: true; output: string }
  | { ok: false; reason: ToolFailureReason; message: string };

/** Runs jobs: the real binaries under limits, through a cache. Passed in, so render stays pure. */
export interface ToolRunner {
  run(job: ToolJob): Promise<ToolResult>;
}

/** A chart archive from a chart repository or an OCI registry, verified against its digest. */
export interface ChartArchive {
  /** The `.tgz` as `helm package` makes it. */
  bytes: Uint8Array;
  /** `sha256:<hex>` of `bytes`. */
  digest: string;
}

/** Where a chart outside the repository lives. */
export type RemoteChart =
  | { type: 'repo'; url: string; name: string; version: string; digest?: string }
  | { type: 'oci'; ref: string; version: string; digest?: string };

/** A fetched chart archive, or why it could not be fetched. */
export type ChartFetch =
  | { ok: true; archive: ChartArchive }
  | {
      ok: false;
      reason: 'SourceUnavailable' | 'NotFound' | 'DigestMismatch' | 'AuthFailed';
      message: string;
    };

/** Fetches charts from their sources (once; the store keeps them). Passed in, so render stays pure. */
export interface ChartStore {
  fetch(chart: RemoteChart): Promise<ChartFetch>;
}

/** What a render needs from outside the pure core; each part optional (absent → a located error when used). */
export interface RenderTools {
  runner?: ToolRunner;
  charts?: ChartStore;
}

/** The content hash of a job, over everything its output can depend on besides the tool's version. */
export function jobKey(
  tool: ToolName,
  files: ReadonlyMap<string, Uint8Array>,
  args: readonly string[],
): string {
  const hash = createHash('sha256');
  hash.update(`${tool}\0${JSON.stringify(args)}\0`);
  for (const path of [...files.keys()].sort()) {
    const bytes = files.get(path)!;
    hash.update(`${path}\0${bytes.byteLength}\0`);
    hash.update(bytes);
  }
  return hash.digest('hex');
}
