import * as fs from 'node:fs';
import path from 'node:path';
import git from 'isomorphic-git';
import type { Logger } from 'pino';
import { REPORT_CONTENT } from '../../../contract/limits.js';
import type { PreviewStatus, ReportError } from '../../../contract/report.js';
import { waveAt, waveOf } from '../../../contract/rollout-rules.js';
import {
  PREVIEW_MAX_AGE_MS,
  type PreviewPolicy,
  type SourceAuth,
  type SourceConfig,
} from '../config/schema.js';
import { type ApplySetParentRef, applySetName } from '../inventory/applyset.js';
import { type DecryptionConfig, sopsModeFor } from '../keys/decryption-key.js';
import type { KubeClient } from '../kube/types.js';
import { type ClusterIdentity, objectId } from '../model/object.js';
import type { Plan } from '../plan/types.js';
import type { ClusterCapabilities } from '../render/helm-render.js';
import { createRenderer, readFleetConfig } from '../render/render.js';
import type { RenderTools } from '../render/tools.js';
import { cacheFolderName, GitSource } from '../source/git.js';
import { subTree } from '../source/subtree.js';
import type { FileTree } from '../source/tree.js';
import { SignatureError } from '../source/verify.js';
import type { SyncPolicy } from '../sync/policy.js';
import type { AgentReportError } from '../sync/report-errors.js';
import { planCluster } from '../sync/sync.js';
import { type GuardedEntry, guardPreviewPlan } from './guard.js';
import { admittedUnsigned, noKeysRefusal, type PreviewAdmission, previewAdmission } from './policy.js';
import { newestFirst, parseRefPattern, type RefPattern } from './refs-pattern.js';

/** How an agent plans pull-request refs: the pattern, the source and the engine to plan with. */
export interface LivePreviewOptions {
  /** The source whose pull-request refs are previewed. */
  source: {
    name: string;
    url: string;
    ref: string;
    path: string;
    previewRefs: string;
    /** Which refs are dry-run at all; absent: only heads signed by `verify.keys`. */
    previewPolicy?: Partial<PreviewPolicy>;
    /** The main ref's signature policy: its keys are the preview policy's default keys. */
    verify?: { keys: string[] };
    auth?: SourceAuth;
    decryption?: DecryptionConfig;
  };
  /** A cache folder of its own: preview fetches never wait on, or disturb, the main sync's cache. */
  cacheDir: string;
  cluster: ClusterIdentity;
  client: KubeClient;
  /** The main sync's ApplySet, so the plan also shows what merging would prune. */
  applySet: ApplySetParentRef;
  policy?: Partial<SyncPolicy>;
  /** Refs planned per pass, at most (the rest wait for the next pass). Default 10. */
  maxRefsPerPass?: number;
  /** Open refs tracked at most; refs past this are left out, and said so in the log. Default 100. */
  maxRefs?: number;
  /** A plan of an unchanged commit is redone after this long (the cluster moves too). Default 10 min. */
  replanAfterMs?: number;
  /** A closed ref is still reported for this long, so the hub hears of it. Default 1 h. */
  keepClosedMs?: number;
  timeoutMs?: number;
  log: Logger;
  now?: () => Date;
  renderTools?: RenderTools;
  capabilities?: () => Promise<ClusterCapabilities>;
}

interface Tracked {
  status: PreviewStatus;
  plannedAtMs: number;
  closedAtMs?: number;
  /** When this agent first saw the ref at its current commit: a head dated in the future counts from here. */
  seenAtMs: number;
  /** Closed because the head is older than maxAge: not fetched again until the ref moves. */
  expired?: boolean;
}

const MAX_CHANGES = REPORT_CONTENT.maxEntryChanges;

/** A plan entry as reported: Secret values are already masked by the plan. */
function reportEntry(e: GuardedEntry): Record<string, unknown> & { id: string; action: string } {
  const out: Record<string, unknown> & { id: string; action: string } = { id: e.id, action: e.action };
  if (e.note) out.note = e.note;
  if (e.changes.length > 0) out.changes = e.changes.slice(0, MAX_CHANGES);
  if (e.changes.length > MAX_CHANGES) out.moreChanges = e.changes.length - MAX_CHANGES;
  if (e.conflicts?.length) out.conflicts = e.conflicts;
  if (e.error) out.error = e.error;
  if (e.drift) out.drift = true;
  return out;
}

/** The plan as reported: every entry (unchanged ones by id only) and counts per action. */
export function reportPlan(
  plan: Omit<Plan, 'entries'> & { entries: GuardedEntry[] },
): NonNullable<PreviewStatus['plan']> {
  const counts: Record<string, number> = {};
  for (const e of plan.entries) counts[e.action] = (counts[e.action] ?? 0) + 1;
  return {
    entries: plan.entries.map(reportEntry),
    counts,
    ...(plan.pruneRefused ? { pruneRefused: plan.pruneRefused } : {}),
  };
}

/**
 * Live previews of one source's pull-request refs on this agent's own cluster: each pass lists
 * the refs matching the pattern, fetches new or moved ones into a separate cache, renders them
 * for this cluster and runs the sync engine's plan (server-side-apply dry-run; nothing is ever
 * applied). Refs that vanish are reported as closed. A pass plans a bounded number of refs; the
 * agent's loop runs passes apart from the main sync (never awaited by it, one at a time).
 */
export class LivePreviews {
  private readonly tracked = new Map<string, Tracked>();
  private readonly pattern: RefPattern;
  private readonly admission: PreviewAdmission;
  /** Refs of the same pull requests that exist only while they are open (GitHub's merge refs). */
  private readonly openWhile: RefPattern | undefined;
  private readonly now: () => Date;

  private constructor(
    private readonly opts: LivePreviewOptions,
    private readonly git: GitSource,
  ) {
    this.pattern = parseRefPattern(opts.source.previewRefs);
    this.admission = previewAdmission(opts.source.previewPolicy, opts.source.verify?.keys);
    const openWhile = opts.source.previewPolicy?.openWhile;
    this.openWhile = openWhile ? parseRefPattern(openWhile) : undefined;
    this.now = opts.now ?? (() => new Date());
  }

  static async open(opts: LivePreviewOptions): Promise<LivePreviews> {
    const source = await GitSource.open({
      url: opts.source.url,
      ref: opts.source.ref,
      cacheDir: opts.cacheDir,
      timeoutMs: opts.timeoutMs ?? 60_000,
      log: opts.log,
      ...(opts.source.auth ? { auth: opts.source.auth } : {}),
    });
    return new LivePreviews(opts, source);
  }

  /** What to put in the report's `previews`, sorted by ref; a closed ref only for `keepClosedMs`. */
  statuses(): PreviewStatus[] {
    const now = this.now().getTime();
    const keep = this.opts.keepClosedMs ?? 3_600_000;
    return [...this.tracked.values()]
      .filter((t) => t.closedAtMs === undefined || now - t.closedAtMs <= keep)
      .map((t) => t.status)
      .sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
  }

  /** One pass. Never throws: a failure is logged and reported on the refs it concerns. */
  async refresh(): Promise<void> {
    const log = this.opts.log;
    let remote: { ref: string; oid: string }[];
    try {
      const listed = await this.git.listRemoteRefs(this.pattern.prefix);
      remote = listed.filter((r) => this.pattern.matches(r.ref));
      if (this.openWhile) remote = await this.stillOpen(remote, listed);
    } catch (err) {
      log.warn(
        { err: (err as Error).message },
        'Cannot list preview refs; keeping the previews as they are.',
      );
      return;
    }
    // With more refs than the limit, the newest pull requests are the ones previewed.
    remote = newestFirst(remote);
    if (remote.length > (this.opts.maxRefs ?? 100)) {
      log.warn(
        {
          refs: remote.length,
          max: this.opts.maxRefs ?? 100,
          oldestKept: remote[(this.opts.maxRefs ?? 100) - 1]?.ref,
        },
        'Too many preview refs; the oldest pull requests are left out.',
      );
      remote = remote.slice(0, this.opts.maxRefs ?? 100);
    }
    await this.closeVanished(new Set(remote.map((r) => r.ref)));
    for (const { ref, oid } of this.due(remote)) {
      const before = this.tracked.get(ref);
      const now = this.now().getTime();
      const seenAtMs = before && before.status.commit === oid ? before.seenAtMs : now;
      const status = await this.planRef(ref, oid, seenAtMs);
      const expired = status.state === 'closed';
      this.tracked.set(ref, {
        status,
        plannedAtMs: now,
        seenAtMs,
        ...(expired ? { expired, closedAtMs: before?.expired ? before.closedAtMs : now } : {}),
      });
    }
  }

  /**
   * The refs whose companion ref (`openWhile`, same stars) is advertised too: on GitHub
   * `refs/pull/N/merge` exists only while pull request N is open, while `refs/pull/N/head` stays.
   */
  private async stillOpen(
    remote: { ref: string; oid: string }[],
    listed: { ref: string; oid: string }[],
  ): Promise<{ ref: string; oid: string }[]> {
    const marker = this.openWhile!;
    const markers = marker.prefix.startsWith(this.pattern.prefix)
      ? listed
      : await this.git.listRemoteRefs(marker.prefix);
    const open = new Set(markers.filter((r) => marker.matches(r.ref)).map((r) => r.ref));
    return remote.filter((r) => open.has(marker.fill(this.pattern.captures(r.ref) ?? [])));
  }

  /** Refs never planned, moved, or planned too long ago: the oldest plans first, at most N a pass. */
  private due(remote: { ref: string; oid: string }[]): { ref: string; oid: string }[] {
    const now = this.now().getTime();
    const replan = this.opts.replanAfterMs ?? 600_000;
    return remote
      .filter((r) => {
        const t = this.tracked.get(r.ref);
        if (t?.expired && t.status.commit === r.oid) return false;
        return (
          !t || t.status.state === 'closed' || t.status.commit !== r.oid || now - t.plannedAtMs >= replan
        );
      })
      .sort(
        (a, b) => (this.tracked.get(a.ref)?.plannedAtMs ?? 0) - (this.tracked.get(b.ref)?.plannedAtMs ?? 0),
      )
      .slice(0, this.opts.maxRefsPerPass ?? 10);
  }

  private async closeVanished(open: Set<string>): Promise<void> {
    const now = this.now().getTime();
    for (const [ref, t] of this.tracked) {
      if (open.has(ref)) continue;
      if (t.status.state === 'open' || t.expired) {
        const mergedAs = await this.mergedAs(t.status.commit);
        t.status = {
          ref,
          commit: t.status.commit,
          state: 'closed',
          plan: null,
          error: null,
          ...(mergedAs ? { mergedAs } : {}),
        };
        t.closedAtMs = now;
        t.expired = false;
        this.opts.log.info({ ref, mergedAs }, 'Preview ref is gone; reporting it closed.');
      } else if (now - (t.closedAtMs ?? now) > (this.opts.keepClosedMs ?? 3_600_000)) {
        this.tracked.delete(ref);
      }
    }
  }

  /**
   * Why the head is too old to preview, or undefined: its committer date (or, when that lies in the
   * future, when this agent first saw it) is more than maxAge ago. An abandoned PR stops costing
   * dry-runs; a push gives it a new head and a new preview.
   */
  private async expiry(commit: string, seenAtMs: number): Promise<string | undefined> {
    const maxAge = this.opts.source.previewPolicy?.maxAge ?? PREVIEW_MAX_AGE_MS;
    const { commit: c } = await git.readCommit({ fs, gitdir: this.git.gitdir, oid: commit });
    const since = Math.min(c.committer.timestamp * 1000, seenAtMs);
    const age = this.now().getTime() - since;
    if (age <= maxAge) return undefined;
    const days = (ms: number) => `${Math.floor(ms / 86_400_000)}d`;
    return `not previewed: the head commit ${commit} is ${days(age)} old, older than previewPolicy.maxAge (${days(maxAge)}); push a new commit to preview it again`;
  }

  /** The main ref's commit when it is, or merges, the closed ref's head: the PR was merged there. */
  private async mergedAs(head: string): Promise<string | undefined> {
    try {
      const main = await this.git.fetchRef(this.opts.source.ref);
      if (main === head) return main;
      const { commit } = await git.readCommit({ fs, gitdir: this.git.gitdir, oid: main });
      return commit.parent.includes(head) ? main : undefined;
    } catch {
      return undefined;
    }
  }

  private async planRef(ref: string, oid: string, seenAtMs: number): Promise<PreviewStatus> {
    const log = this.opts.log.child({ preview: ref });
    const plannedAt = this.now().toISOString();
    const failed = (error: AgentReportError, commit = oid): PreviewStatus => ({
      ref,
      commit,
      state: 'open',
      plannedAt,
      plan: null,
      error,
    });
    const unsigned = admittedUnsigned(this.admission, ref);
    const noKeys = unsigned ? undefined : noKeysRefusal(this.admission);
    if (noKeys) return failed({ reason: 'PreviewRefused', message: noKeys });
    let commit: string;
    let wave: Pick<PreviewStatus, 'wave'> = {};
    try {
      commit = await this.git.fetchRef(ref);
    } catch (err) {
      return failed({ reason: 'FetchFailed', message: (err as Error).message });
    }
    const expiry = await this.expiry(commit, seenAtMs);
    if (expiry) {
      log.info({ commit }, 'Preview head is older than the age limit; closing its preview.');
      return {
        ref,
        commit,
        state: 'closed',
        plan: null,
        error: { reason: 'PreviewExpired', message: expiry },
      };
    }
    if (!unsigned) {
      try {
        const signer = await this.git.checkCommitSignature(commit, this.admission.keys);
        log.debug({ commit, signer }, 'Preview head signed by a trusted key.');
      } catch (err) {
        if (!(err instanceof SignatureError))
          return failed({ reason: 'FetchFailed', message: (err as Error).message }, commit);
        log.info({ commit, why: err.why }, 'Preview ref refused by the preview policy; not dry-run.');
        return failed({ reason: 'PreviewRefused', message: `not previewed: ${err.message}` }, commit);
      }
    }
    try {
      const tree = subTree(await this.git.tree(commit), this.opts.source.path);
      wave = await waveUnder(tree, this.opts.cluster);
      const sops = await sopsModeFor(this.opts.source.decryption);
      const rendered = await createRenderer(tree, {
        ...(sops ? { sops } : {}),
        ...(this.opts.renderTools ? { tools: this.opts.renderTools } : {}),
        ...(this.opts.capabilities ? { capabilities: await this.opts.capabilities() } : {}),
      }).render(this.opts.cluster);
      if (!rendered.ok) {
        const first = rendered.errors[0]!;
        return {
          ...failed(
            {
              reason: 'RenderError',
              message: `${rendered.errors.length} render error(s); first: ${first.message}`,
              ...(first.file ? { file: first.file } : {}),
              ...(first.doc !== undefined ? { doc: first.doc } : {}),
              ...(first.line !== undefined ? { line: first.line } : {}),
              ...(first.object ? { object: first.object } : {}),
            },
            commit,
          ),
          plan: { entries: [], renderErrors: rendered.errors.slice(0, 50).map((e) => e.toJSON()) },
          ...wave,
        };
      }
      const planned = await planCluster({
        client: this.opts.client,
        objects: rendered.objects.map((o) => o.object),
        applySet: this.opts.applySet,
        policy: this.opts.policy ?? {},
        log,
      });
      const plan = guardPreviewPlan(planned.plan, new Set(planned.members.map((m) => objectId(m))));
      log.info({ commit, entries: plan.entries.length }, 'Preview planned.');
      return { ref, commit, state: 'open', plannedAt, plan: reportPlan(plan), error: null, ...wave };
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'Preview plan failed.');
      return { ...failed({ reason: 'PlanFailed', message: (err as Error).message }, commit), ...wave };
    }
  }
}

/**
 * This cluster's wave under the previewed commit's rollout rules, for the hub's PR comment; nothing
 * when its strata.yaml does not parse (the render reports that).
 */
async function waveUnder(tree: FileTree, cluster: ClusterIdentity): Promise<Pick<PreviewStatus, 'wave'>> {
  const { config } = await readFleetConfig(tree);
  if (!config) return {};
  const rules = config.rollout;
  if (!rules) return { wave: null };
  const index = waveOf(rules, cluster.labels);
  return { wave: { index, name: waveAt(rules, index).name } };
}

/**
 * The cluster side of live previews: the client and the namespace of the sync's ApplySet parents.
 */
export interface PreviewEngine {
  client: KubeClient;
  /** Namespace of the main sync's ApplySet parents (`strata-<source>`). */
  namespace: string;
  policy: Partial<SyncPolicy>;
  /** Folder for the preview fetch caches, one per source. */
  cacheDir: string;
  maxRefsPerPass?: number;
  /** kustomize/helm for the previewed commits (the agent's own runner and cache). */
  renderTools?: RenderTools;
  capabilities?: () => Promise<ClusterCapabilities>;
}

/** What the agent's reconcile loop calls after a main reconcile of a source with `previewRefs`. */
export interface PreviewRunner {
  run(ctx: { source: SourceConfig; identity: ClusterIdentity; log: Logger }): Promise<PreviewStatus[]>;
}

/** One LivePreviews per source, opened on first use, each with its own fetch cache. */
export function previewHook(engine: PreviewEngine): PreviewRunner {
  const bySource = new Map<string, Promise<LivePreviews>>();
  return {
    async run({ source, identity, log }) {
      if (!source.previewRefs) return [];
      let previews = bySource.get(source.name);
      if (!previews) {
        previews = LivePreviews.open({
          source: { ...source, previewRefs: source.previewRefs },
          cacheDir: path.join(engine.cacheDir, cacheFolderName(source.name, source.url)),
          cluster: identity,
          client: engine.client,
          applySet: { name: applySetName(source.name), namespace: engine.namespace },
          policy: engine.policy,
          timeoutMs: source.timeout,
          log,
          ...(engine.maxRefsPerPass ? { maxRefsPerPass: engine.maxRefsPerPass } : {}),
          ...(engine.renderTools ? { renderTools: engine.renderTools } : {}),
          ...(engine.capabilities ? { capabilities: engine.capabilities } : {}),
        });
        previews.catch(() => bySource.delete(source.name));
        bySource.set(source.name, previews);
      }
      const live = await previews;
      await live.refresh();
      return live.statuses();
    },
  };
}
