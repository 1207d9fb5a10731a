import type { Logger } from 'pino';
import { type ApplyItem, type ApplyOutcome, applyPlan } from '../apply/apply.js';
import { summariseHealth, syncPhase } from '../health/phase.js';
import { type ObjectHealth, objectHealth } from '../health/status.js';
import {
  type ApplySetParentRef,
  applySetId,
  groupKindOf,
  inventoryFor,
  sameInventory,
  unionInventory,
} from '../inventory/applyset.js';
import { describeScope, listMembers, type MemberScope } from '../inventory/members.js';
import { readParent, writeParent } from '../inventory/parent.js';
import { mapBounded } from '../kube/pool.js';
import { type KubeClient, refOf } from '../kube/types.js';
import { type KubeObject, objectId } from '../model/object.js';
import {
  type CacheEntry,
  cacheFile,
  emptyCache,
  loadCache,
  type SyncCache,
  saveCache,
} from '../plan/cache.js';
import { type DesiredObject, prepareDesired } from '../plan/desired.js';
import { deleteEntries, liveHashOf, type ObjectPlan, planErrorOf, planObject } from '../plan/plan.js';
import { needsApply, type Plan, type PlanEntry } from '../plan/types.js';
import { cascadeCounts } from '../prune/cascade.js';
import { appliedBy } from '../prune/membership.js';
import { type PruneOutcome, pruneMembers } from '../prune/prune.js';
import { type PruneSelection, selectPrune } from '../prune/select.js';
import { evidenceOf, type LiveEvidence } from './evidence.js';
import { resolvePolicy, type SyncPolicy } from './policy.js';
import type { SyncConflict, SyncDrift, SyncError, SyncEvent, SyncResult } from './types.js';

/** What one sync gets: the client, the rendered objects, the ApplySet, the policy and the cache. */
export interface SyncInput {
  client: KubeClient;
  /** The rendered objects (an empty list never prunes). */
  objects: KubeObject[];
  /** The ApplySet parent: a Secret in the agent's namespace. */
  applySet: ApplySetParentRef;
  policy?: Partial<SyncPolicy>;
  /** The render failed: plan/apply nothing, prune nothing, report Failed. */
  renderFailed?: boolean;
  /** Dry-run objects that do not exist yet (default true; a sync sets false: its apply validates them). */
  dryRunCreates?: boolean;
  /** Keeps the no-op cache here (`sync-cache-<applyset>.json`); without it every object is dry-run. */
  stateDir?: string;
  log?: Logger;
  onEvent?: (e: SyncEvent) => void;
  now?: () => Date;
}

/** Everything planning found out, for the apply and prune that may follow. */
export interface ClusterPlan {
  plan: Plan;
  desired: DesiredObject[];
  objectPlans: ObjectPlan[];
  members: KubeObject[];
  selection: PruneSelection;
  cache: SyncCache;
  policy: SyncPolicy;
  applySetId: string;
  parentInventory: { groupKinds: string[]; namespaces: string[] };
  /**
   * Kinds (in one namespace, or cluster-wide) whose members could not be listed: never pruned and
   * kept in the inventory; `reported` unless the agent is merely not allowed to read a scope that
   * holds none of the rendered objects (see `quietlyForbidden`).
   */
  unlisted: { scope: MemberScope; error: SyncError; reported: boolean }[];
  /** The parent's and the listed objects' resourceVersions, as this plan read them. */
  evidence: LiveEvidence;
  requestsAtStart: number;
}

async function loadSyncCache(input: SyncInput, id: string): Promise<SyncCache> {
  return input.stateDir ? loadCache(cacheFile(input.stateDir, input.applySet.name), id) : emptyCache(id);
}

/** The namespaced kinds of the ApplySet's members, to count inside a Namespace being pruned. */
function inventoryKinds(members: KubeObject[]): [string, string][] {
  return [
    ...new Map(
      members
        .filter((m) => m.metadata.namespace)
        .map((m) => [`${m.apiVersion}|${m.kind}`, [m.apiVersion, m.kind] as [string, string]]),
    ).values(),
  ];
}

/** Rendered objects with the same identity twice cannot both be applied: the first wins, the rest are errors. */
function splitDuplicates(desired: DesiredObject[]): { unique: DesiredObject[]; duplicates: DesiredObject[] } {
  const seen = new Set<string>();
  const unique: DesiredObject[] = [];
  const duplicates: DesiredObject[] = [];
  for (const d of desired) {
    if (seen.has(d.id)) duplicates.push(d);
    else {
      seen.add(d.id);
      unique.push(d);
    }
  }
  return { unique, duplicates };
}

/** Above this many non-members of one kind, one LIST of the kind replaces a GET per object. */
const LIST_INSTEAD_OF_GET = 50;

/**
 * How to find the live object of a desired object that is not (yet) an ApplySet member: a GET,
 * or for kinds with many such objects (a first sync), one LIST of the kind.
 */
async function nonMemberLookup(
  client: KubeClient,
  desired: DesiredObject[],
  members: Map<string, KubeObject>,
): Promise<(d: DesiredObject) => Promise<KubeObject | undefined>> {
  const perKind = new Map<string, DesiredObject[]>();
  for (const d of desired) {
    if (members.has(d.id) || !d.info) continue;
    const key = `${d.object.apiVersion}|${d.object.kind}`;
    const list = perKind.get(key);
    if (list) list.push(d);
    else perKind.set(key, [d]);
  }
  const listed = new Map<string, Map<string, KubeObject>>();
  for (const [key, ds] of perKind) {
    if (ds.length < LIST_INSTEAD_OF_GET) continue;
    const [apiVersion, kind] = key.split('|') as [string, string];
    const namespaces = new Set(ds.map((d) => d.object.metadata.namespace));
    // A LIST the agent may not make (a 403 on the kind) falls back to one GET per object, each
    // failing (or not) on its own.
    const lists = await Promise.all(
      [...namespaces].map((ns) => client.list(apiVersion, kind, ns ? { namespace: ns } : {})),
    ).catch(() => undefined);
    if (lists) listed.set(key, new Map(lists.flat().map((o) => [objectId(o), o])));
  }
  return async (d) => {
    const byId = listed.get(`${d.object.apiVersion}|${d.object.kind}`);
    return byId ? byId.get(d.id) : client.get(refOf(d.object));
  };
}

/**
 * A 403 on a member LIST of a scope that holds none of the rendered objects is the operator's RBAC
 * saying "not here", not a failure: KEP-3659 lists every recorded kind in every recorded namespace,
 * so an agent with per-namespace Roles is bound to meet kinds it was never granted in some of them.
 * The scope stays unprunable and recorded; only a scope the render needs is reported.
 */
function quietlyForbidden(scope: MemberScope, error: { code?: number }, desired: DesiredObject[]): boolean {
  if (error.code !== 403) return false;
  return !desired.some(
    (d) =>
      groupKindOf(d.object) === scope.groupKind &&
      (scope.namespace === undefined || d.object.metadata.namespace === scope.namespace),
  );
}

/** Plans a cluster: dry-runs (or cache hits) for every desired object, and the prune side. Changes nothing. */
export async function planCluster(input: SyncInput): Promise<ClusterPlan> {
  const policy = resolvePolicy(input.policy);
  const { client } = input;
  const requestsAtStart = client.requestCount;
  const id = applySetId(input.applySet);
  const cache = await loadSyncCache(input, id);
  const fullVerify =
    policy.fullVerifyEvery > 0 ? cache.cycle % policy.fullVerifyEvery === 0 : cache.cycle === 0;
  const objects = input.renderFailed ? [] : input.objects;
  const prepared = await prepareDesired(client, objects, {
    applySetId: id,
    defaultNamespace: policy.defaultNamespace,
  });
  const { unique: desired, duplicates } = splitDuplicates(prepared);
  const parent = await readParent(client, input.applySet);
  const inventory = unionInventory(
    parent.inventory,
    inventoryFor(
      desired.map((d) => d.object),
      input.applySet,
    ),
  );
  // One LIST per kind and namespace, each on its own: a scope that cannot be listed (403, timeout)
  // is reported and its members are neither judged for prune nor dropped from the inventory, the
  // rest syncs on.
  const listed = await listMembers(client, id, input.applySet, inventory);
  const unlisted = listed.filter((l) => l.error !== undefined);
  // Only what Strata itself applied is a member: a copied part-of label makes nothing prunable.
  const members = listed.flatMap((l) => l.items).filter((m) => appliedBy(m, policy.fieldManager));
  const memberById = new Map(members.map((m) => [objectId(m), m]));
  const namespacesInSync = new Set(
    desired.filter((d) => d.object.kind === 'Namespace').map((d) => d.object.metadata.name),
  );
  const lookup = await nonMemberLookup(client, desired, memberById);
  const objectPlans = await mapBounded(desired, policy.concurrency, (d) =>
    planObject(client, d, memberById.get(d.id), cache, {
      fieldManager: policy.fieldManager,
      fullVerify,
      concurrency: policy.concurrency,
      namespacesInSync,
      dryRunCreates: input.dryRunCreates ?? true,
      lookup,
    }),
  );
  const desiredIds = new Set(desired.map((d) => d.id));
  const gone = members.filter((m) => !desiredIds.has(objectId(m)));
  const cascade =
    policy.prune && !input.renderFailed
      ? await cascadeCounts(client, gone, inventoryKinds(members))
      : new Map();
  const selection = selectPrune(
    members,
    desiredIds,
    { failed: Boolean(input.renderFailed) },
    {
      maxFraction: policy.pruneMaxFraction,
      allowLarge: policy.allowLargePrune,
    },
    cascade,
  );
  const pruneSide = policy.prune ? deleteEntries(selection.remove, selection.keep) : [];
  const duplicateEntries: PlanEntry[] = duplicates.map((d) => ({
    id: d.id,
    ref: refOf(d.object),
    action: 'error',
    changes: [],
    wave: d.wave,
    error: { reason: 'Duplicate', message: `the render holds ${d.id} more than once` },
  }));
  const plan: Plan = {
    entries: [...objectPlans.map((p) => p.entry), ...duplicateEntries, ...pruneSide],
    stats: {
      dryRuns: objectPlans.filter((p) => p.dryRun).length,
      fromCache: objectPlans.filter((p) => p.fromCache).length,
      fullVerify,
    },
  };
  if (policy.prune && selection.refused) plan.pruneRefused = selection.refused;
  if (input.renderFailed) plan.pruneRefused = 'the render failed; nothing is applied or pruned';
  return {
    plan,
    desired,
    objectPlans,
    members,
    selection,
    cache,
    policy,
    applySetId: id,
    parentInventory: parent.inventory,
    unlisted: unlisted.map((u) => {
      const error = planErrorOf(u.error);
      const reported = !quietlyForbidden(u.scope, error, desired);
      if (!reported)
        input.log?.warn(
          { scope: describeScope(u.scope) },
          'Not allowed to list ApplySet members here; members there, if any, are not pruned.',
        );
      return {
        scope: u.scope,
        reported,
        error: {
          reason: error.reason || 'ListFailed',
          message: `listing ApplySet members of ${describeScope(u.scope)} failed, so none of them is pruned this time: ${error.message}`,
        },
      };
    }),
    evidence: evidenceOf(
      parent.object,
      inventory.groupKinds,
      listed.flatMap((l) => l.items),
      unlisted.map((u) => describeScope(u.scope)),
    ),
    requestsAtStart,
  };
}

function healthOf(
  cp: ClusterPlan,
  applied: Map<string, ApplyOutcome>,
  waited: Map<string, ObjectHealth>,
  observed: Map<string, KubeObject>,
) {
  return cp.desired.map((d, i) => {
    const fromWave = waited.get(d.id);
    const outcome = applied.get(d.id);
    const obj = observed.get(d.id) ?? outcome?.object ?? cp.objectPlans[i]?.live;
    const h = fromWave && !outcome ? fromWave : objectHealth(obj);
    return { id: d.id, status: h.status, message: h.message };
  });
}

function nextCache(cp: ClusterPlan, applied: Map<string, ApplyOutcome>): SyncCache {
  const entries: Record<string, CacheEntry> = {};
  cp.desired.forEach((d, i) => {
    const outcome = applied.get(d.id);
    if (outcome?.object) entries[d.id] = { desiredHash: d.hash, liveHash: liveHashOf(outcome.object) };
    else if (!outcome && cp.objectPlans[i]?.verified) entries[d.id] = cp.objectPlans[i]!.verified!;
  });
  return { ...cp.cache, cycle: cp.cache.cycle + 1, entries };
}

/** Entries to act on: everything the plan would change, except drift left alone under policy `report`. */
function applyItems(cp: ClusterPlan): ApplyItem[] {
  return cp.desired.map((desired, i) => {
    const entry = cp.objectPlans[i]!.entry;
    const leaveDrift = cp.policy.drift === 'report' && entry.drift === true;
    return { desired, entry, act: needsApply(entry) && !leaveDrift };
  });
}

/**
 * One sync of one ApplySet: plan, grow the ApplySet, apply in order, prune, shrink the ApplySet,
 * and judge health. Grow-before-apply and shrink-after-prune keep a crash at any point safe.
 */
export async function syncCluster(input: SyncInput): Promise<SyncResult> {
  const now = input.now ?? (() => new Date());
  const startedAt = now().toISOString();
  const log = input.log;
  const cp = await planCluster({ dryRunCreates: false, ...input });
  const { client } = input;
  const { policy } = cp;
  input.onEvent?.({ type: 'planned', plan: cp.plan });
  log?.info({ stats: cp.plan.stats, entries: cp.plan.entries.length }, 'planned');

  const items = applyItems(cp);
  const desiredInventory = inventoryFor(
    cp.desired.map((d) => d.object),
    input.applySet,
  );
  const grown = unionInventory(cp.parentInventory, desiredInventory);
  const needsParent = !input.renderFailed && cp.desired.length > 0;
  // Grow the ApplySet before applying, so a crash never leaves an object we created outside it.
  const growParent =
    needsParent && (!sameInventory(grown, cp.parentInventory) || cp.parentInventory.groupKinds.length === 0);
  if (growParent) await writeParent(client, input.applySet, grown, policy.fieldManager);
  const applyRun = needsParent
    ? await applyPlan(client, items, {
        ...policy,
        ...(input.onEvent ? { onEvent: input.onEvent } : {}),
      })
    : { outcomes: [], health: new Map(), observed: new Map() };
  const appliedById = new Map(applyRun.outcomes.map((o) => [o.id, o]));

  let pruned: PruneOutcome[] = [];
  if (
    policy.prune &&
    !cp.selection.refused &&
    (cp.selection.remove.length > 0 || cp.selection.keep.length > 0)
  ) {
    pruned = await pruneMembers(client, cp.selection.remove, cp.selection.keep, policy);
    for (const outcome of pruned) input.onEvent?.({ type: 'pruned', outcome });
  }
  if (cp.plan.pruneRefused) input.onEvent?.({ type: 'prune-refused', reason: cp.plan.pruneRefused });
  // Shrink the ApplySet only after pruning: kinds of members still present stay recorded.
  if (needsParent) {
    const gone = new Set(pruned.filter((p) => p.result !== 'failed').map((p) => p.id));
    const remaining = cp.members.filter((m) => !gone.has(objectId(m)));
    const found = inventoryFor([...cp.desired.map((d) => d.object), ...remaining], input.applySet);
    // Scopes that could not be listed keep their place: their members still exist. A kind whose
    // namespace is unknown (cluster-wide or undiscoverable) keeps every recorded namespace.
    const shrunk = cp.unlisted.length
      ? unionInventory(found, {
          groupKinds: cp.unlisted.map((u) => u.scope.groupKind),
          namespaces: cp.unlisted.flatMap((u) =>
            u.scope.namespace === undefined
              ? cp.parentInventory.namespaces
              : u.scope.namespace === input.applySet.namespace
                ? []
                : [u.scope.namespace],
          ),
        })
      : found;
    if (!sameInventory(shrunk, grown)) await writeParent(client, input.applySet, shrunk, policy.fieldManager);
  }
  const wrote = growParent || applyRun.outcomes.length > 0 || pruned.length > 0;

  const cache = nextCache(cp, appliedById);
  if (input.stateDir) await saveCache(cacheFile(input.stateDir, input.applySet.name), cache);

  const result = summarise(cp, items, applyRun, pruned, input.renderFailed === true);
  result.startedAt = startedAt;
  result.finishedAt = now().toISOString();
  result.stats.requests = client.requestCount - cp.requestsAtStart;
  if (!wrote && quietPlan(cp, items)) result.evidence = cp.evidence;
  log?.info({ phase: result.phase, counts: result.counts, requests: result.stats.requests }, 'synced');
  return result;
}

/**
 * The plan found the cluster exactly as rendered and changed nothing: every rendered object is a
 * member of ours, nothing to apply, prune, keep or report. Only then does the evidence stand for
 * "in sync" (a later reconcile of the same commit that reads the same evidence may skip its plan).
 */
function quietPlan(cp: ClusterPlan, items: ApplyItem[]): boolean {
  if (cp.unlisted.some((u) => u.reported) || cp.plan.pruneRefused) return false;
  if (cp.selection.remove.length > 0 || cp.selection.keep.length > 0) return false;
  if (cp.plan.entries.some((e) => e.action !== 'unchanged')) return false;
  if (items.some((i) => i.act)) return false;
  const memberIds = new Set(cp.members.map(objectId));
  return cp.desired.every((d) => memberIds.has(d.id) && cp.evidence.members.has(d.id));
}

function summarise(
  cp: ClusterPlan,
  items: ApplyItem[],
  applyRun: Awaited<ReturnType<typeof applyPlan>>,
  pruned: PruneOutcome[],
  renderFailed: boolean,
): SyncResult {
  const appliedById = new Map(applyRun.outcomes.map((o) => [o.id, o]));
  const errors: SyncError[] = [];
  if (renderFailed)
    errors.push({ reason: 'RenderFailed', message: 'the render failed; nothing was applied or pruned' });
  for (const e of cp.plan.entries) if (e.action === 'error' && e.error) errors.push({ id: e.id, ...e.error });
  for (const o of applyRun.outcomes)
    if (o.result === 'failed' && o.error) errors.push({ id: o.id, ...o.error });
  for (const p of pruned) if (p.result === 'failed' && p.error) errors.push({ id: p.id, ...p.error });
  for (const u of cp.unlisted) if (u.reported) errors.push(u.error);
  const conflicts: SyncConflict[] = cp.plan.entries.flatMap((e) =>
    (e.conflicts ?? []).map((c) => ({ id: e.id, field: c.field, manager: c.manager, message: c.message })),
  );
  const drift: SyncDrift[] = items
    .filter((i) => i.entry.drift)
    .map((i) => ({
      id: i.entry.id,
      fields: i.entry.changes.map((c) => c.path),
      action: i.act && appliedById.get(i.entry.id)?.result !== 'failed' ? 'corrected' : 'reported',
    }));
  const objects = healthOf(cp, appliedById, applyRun.health, applyRun.observed);
  const healthStatus = summariseHealth(objects.map((o) => o.status));
  const count = (r: string) => applyRun.outcomes.filter((o) => o.result === r).length;
  const pending = drift.filter((d) => d.action === 'reported').length + (cp.plan.pruneRefused ? 1 : 0);
  return {
    phase: syncPhase({ errors: errors.length, pending, health: healthStatus }),
    startedAt: '',
    finishedAt: '',
    plan: cp.plan,
    applied: applyRun.outcomes.map(({ id, result, error }) => ({ id, result, ...(error ? { error } : {}) })),
    pruned,
    ...(cp.plan.pruneRefused ? { pruneRefused: cp.plan.pruneRefused } : {}),
    counts: {
      created: count('created'),
      updated: count('updated'),
      replaced: count('replaced'),
      pruned: pruned.filter((p) => p.result === 'pruned').length,
      kept: pruned.filter((p) => p.result === 'kept').length,
      unchanged: items.filter((i) => i.entry.action === 'unchanged').length,
      failed: errors.length,
    },
    conflicts,
    errors,
    drift,
    health: { status: healthStatus, objects },
    stats: {
      requests: 0,
      dryRuns: cp.plan.stats.dryRuns,
      fromCache: cp.plan.stats.fromCache,
      fullVerify: cp.plan.stats.fullVerify,
    },
  };
}
