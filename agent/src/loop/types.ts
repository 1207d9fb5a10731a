/** The reconcile loop's parts as interfaces: what a source, a pipeline and a preview hook must offer. */
import type { Logger } from 'pino';
import type { Drift, PreviewStatus, SourceHealth, SyncResult } from '../../../contract/report.js';
import type { SourceConfig } from '../config/schema.js';
import type { ClusterIdentity } from '../model/object.js';
import type { ClusterCapabilities } from '../render/helm-render.js';
import type { AgentInfo } from '../report/build.js';
import type { Delivery } from '../report/delivery.js';
import type { Outbox } from '../report/outbox.js';
import type { RolloutGatekeeper } from '../rollout/gatekeeper.js';
import type { GitSource } from '../source/git.js';
import type { SourceState } from '../source/state.js';
import type { FileTree } from '../source/tree.js';
import type { AgentMetrics } from './metrics.js';

/** What render → … → health produced for one commit: the report sections of one source. */
export interface SourceSections {
  sync: SyncResult;
  health: SourceHealth | null;
  drift: Drift[];
}

/**
 * What one run of the pipeline gets: the source, its commit and tree, and the previous sections.
 */
export interface PipelineInput {
  source: SourceConfig;
  commit: string;
  tree: FileTree;
  log: Logger;
  /** The previous outcome of this source, e.g. to keep health when render fails. */
  previous: SourceSections | null;
  /** The loop's clock, for the times written into failure sections. */
  now?: () => Date;
}

/** Render → plan → apply → prune → health for one commit of one source (the sync engine behind it). */
export interface Pipeline {
  reconcile(input: PipelineInput): Promise<SourceSections>;
}

/** Where a source's commits come from: a Git cache or a folder. */
export interface SourceAccess {
  readonly state: SourceState;
  fetch(): Promise<SourceState>;
  tree(commit: string): Promise<FileTree> | FileTree;
  /** Drop a damaged cache and fetch again. */
  repair?(): Promise<SourceState>;
  /** The URL as shown in logs and reports (no user info). */
  readonly displayUrl?: string;
}

/**
 * Live previews of pull-request refs (docs/design.md §4): called after a main reconcile of a source that has
 * `previewRefs`, apart from the main sync (never awaited by it, one run at a time per source).
 * It must plan with dry-run only and return the status of every watched ref (closed ones too).
 */
export interface PreviewHook {
  run(ctx: {
    source: SourceConfig;
    git: GitSource;
    identity: ClusterIdentity;
    log: Logger;
    previous: PreviewStatus[];
  }): Promise<PreviewStatus[]>;
}

/** One configured source as the loop runs it: its config and the source that fetches it. */
export interface LoopSource {
  config: SourceConfig;
  access: SourceAccess;
  /** The Git cache, for previews. */
  git?: GitSource;
}

/** The loop's collaborators (pipeline, outbox, metrics, clock, logger), injected for tests. */
export interface LoopOptions {
  identity: ClusterIdentity;
  agent: AgentInfo;
  sources: LoopSource[];
  pipeline: Pipeline;
  outbox: Outbox;
  delivery?: Delivery;
  metrics?: AgentMetrics;
  log: Logger;
  /** Backoff after a failed reconcile: first retry delay and the ceiling. */
  retry?: { minMs: number; maxMs: number };
  previews?: PreviewHook;
  /** The cluster's last discovered versions, carried in every report (previews from the hub render with them). */
  capabilities?: () => ClusterCapabilities | undefined;
  /** Staged rollouts: which commit a source may enforce (agent/src/rollout); absent: always the fetched one. */
  rollout?: RolloutGatekeeper;
  /** Re-check live objects for drift this often, when it is shorter than a source's interval. */
  driftIntervalMs?: number;
  now?: () => Date;
  random?: () => number;
}

/** Why a reconcile ran: start, schedule, trigger, watch or retry; logged and counted. */
export type ReconcileReason = 'start' | 'schedule' | 'manual' | 'watch' | 'retry' | 'drift';
