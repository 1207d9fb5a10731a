import { KubeApiError } from '../kube/errors.js';
import type { KubeClient } from '../kube/types.js';
import type { KubeObject } from '../model/object.js';
import { objectId } from '../model/object.js';
import type { CacheEntry, SyncCache } from './cache.js';
import { conflictsOf } from './conflict.js';
import { DESIRED_HASH_ANNOTATION, type DesiredObject } from './desired.js';
import { diffFields } from './diff.js';
import { hashOf } from './hash.js';
import { normalise } from './normalise.js';
import { sensitivePaths } from './secrets.js';
import type { PlanEntry, PlanError } from './types.js';

/**
 * How one plan is made: the client, field manager, the no-op cache and what the same sync creates.
 */
export interface PlanOptions {
  fieldManager: string;
  /** Ignore the cache and dry-run every object. */
  fullVerify: boolean;
  concurrency: number;
  /** Namespaces the same sync declares: a dry-run in one that does not exist yet is a create. */
  namespacesInSync: Set<string>;
  /** Dry-run objects that do not exist yet (a plan shows their errors early; a sync's apply finds them anyway). */
  dryRunCreates: boolean;
  /** The live object of a desired one that is not an ApplySet member yet. */
  lookup: (d: DesiredObject) => Promise<KubeObject | undefined>;
}

/** What planning one object learned. */
export interface ObjectPlan {
  entry: PlanEntry;
  /** The live object as last seen (for health), undefined when it does not exist. */
  live?: KubeObject;
  /** Set when the object was verified in sync: what to remember for the next cycle. */
  verified?: CacheEntry;
  fromCache: boolean;
  dryRun: boolean;
}

/** What the plan compares: normalised, and without our own desired-hash stamp (bookkeeping, not content). */
function comparable(obj: KubeObject): KubeObject {
  const n = normalise(obj);
  const annotations = n.metadata.annotations;
  if (!annotations || !(DESIRED_HASH_ANNOTATION in annotations)) return n;
  const { [DESIRED_HASH_ANNOTATION]: _stamp, ...rest } = annotations;
  const { annotations: _all, ...metadata } = n.metadata;
  return { ...n, metadata: Object.keys(rest).length > 0 ? { ...metadata, annotations: rest } : metadata };
}

/** The hash of a live object after normalising, compared with the cache to skip a dry run. */
export function liveHashOf(live: KubeObject): string {
  return hashOf(normalise(live));
}

function baseEntry(d: DesiredObject): PlanEntry {
  const { apiVersion, kind, metadata } = d.object;
  const ref = {
    apiVersion,
    kind,
    name: metadata.name,
    ...(metadata.namespace ? { namespace: metadata.namespace } : {}),
  };
  return { id: d.id, ref, action: 'unchanged', changes: [], wave: d.wave };
}

/**
 * A thrown error as a plan error: an apiserver error keeps its reason and code, anything else is
 * InternalError.
 */
export function planErrorOf(err: unknown): PlanError {
  if (err instanceof KubeApiError) {
    const reason = err.isImmutable ? 'Immutable' : err.reason;
    return { reason, message: err.message, code: err.code };
  }
  return { reason: 'InternalError', message: err instanceof Error ? err.message : String(err) };
}

/** Only another manager of the object's main resource can conflict with us (status writers cannot). */
function hasOtherManagers(live: KubeObject, fieldManager: string): boolean {
  const managed = Array.isArray(live.metadata.managedFields)
    ? (live.metadata.managedFields as { manager?: string; subresource?: string }[])
    : [];
  return managed.some((m) => m.manager !== fieldManager && !m.subresource);
}

/** Ask the apiserver without force: a 409 names the fields and managers we would fight. */
async function findConflicts(client: KubeClient, d: DesiredObject, fieldManager: string) {
  try {
    await client.apply(d.object, { fieldManager, force: false, dryRun: true });
    return undefined;
  } catch (err) {
    if (err instanceof KubeApiError && err.isConflict) return conflictsOf(err);
    throw err;
  }
}

/**
 * Plans one desired object: from the cache when neither side moved, otherwise by a forced
 * server-side-apply dry-run compared with the live object.
 */
export async function planObject(
  client: KubeClient,
  d: DesiredObject,
  memberLive: KubeObject | undefined,
  cache: SyncCache,
  opts: PlanOptions,
): Promise<ObjectPlan> {
  const entry = baseEntry(d);
  if (d.problem) {
    entry.action = 'error';
    entry.error = { reason: 'BadAnnotation', message: d.problem };
    return { entry, ...(memberLive ? { live: memberLive } : {}), fromCache: false, dryRun: false };
  }
  if (!d.info) {
    if (d.crdId) {
      entry.action = 'create';
      entry.awaitsCrd = d.crdId;
    } else {
      entry.action = 'error';
      entry.error = {
        reason: 'KindNotServed',
        message: `the cluster does not serve ${d.object.kind} in ${d.object.apiVersion}`,
      };
    }
    return { entry, fromCache: false, dryRun: false };
  }
  const cached = cache.entries[d.id];
  if (
    !opts.fullVerify &&
    memberLive &&
    cached?.desiredHash === d.hash &&
    cached.liveHash === liveHashOf(memberLive)
  ) {
    return { entry, live: memberLive, verified: cached, fromCache: true, dryRun: false };
  }
  // Objects not yet in the ApplySet were not in the member LIST: look them up (first sync, adoption).
  // A read that fails (403, timeout) is this object's error; the others plan on.
  let live: KubeObject | undefined;
  try {
    live = memberLive ?? (await opts.lookup(d));
  } catch (err) {
    entry.action = 'error';
    entry.error = planErrorOf(err);
    return { entry, fromCache: false, dryRun: false };
  }
  if (!live && !opts.dryRunCreates) {
    entry.action = 'create';
    return { entry, fromCache: false, dryRun: false };
  }
  let result: KubeObject;
  try {
    result = await client.apply(d.object, { fieldManager: opts.fieldManager, force: true, dryRun: true });
  } catch (err) {
    const error = planErrorOf(err);
    const ns = d.object.metadata.namespace;
    if (!live && error.code === 404 && ns && opts.namespacesInSync.has(ns)) {
      entry.action = 'create';
      entry.awaitsNamespace = ns;
    } else if (error.reason === 'Immutable' && d.replace && live) {
      entry.action = 'replace';
      entry.error = error;
    } else {
      entry.action = 'error';
      entry.error = error;
    }
    return { entry, ...(live ? { live } : {}), fromCache: false, dryRun: true };
  }
  if (!live) {
    entry.action = 'create';
    return { entry, fromCache: false, dryRun: true };
  }
  entry.changes = diffFields(comparable(live), comparable(result), sensitivePaths(d.object));
  if (entry.changes.length === 0) {
    return {
      entry,
      live,
      verified: { desiredHash: d.hash, liveHash: liveHashOf(live) },
      fromCache: false,
      dryRun: true,
    };
  }
  entry.action = 'update';
  // Our stamp on the live object says it was applied from exactly this desired state: it moved.
  entry.drift = live.metadata.annotations?.[DESIRED_HASH_ANNOTATION] === d.hash;
  const conflicts = hasOtherManagers(live, opts.fieldManager)
    ? await findConflicts(client, d, opts.fieldManager)
    : undefined;
  if (conflicts) {
    entry.action = 'conflict';
    entry.conflicts = conflicts;
  }
  return { entry, live, fromCache: false, dryRun: true };
}

/** The prune side of the plan: members the render no longer holds. */
export function deleteEntries(remove: KubeObject[], keep: KubeObject[]): PlanEntry[] {
  const entry = (obj: KubeObject, kept: boolean): PlanEntry => {
    const ref = {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      name: obj.metadata.name,
      ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
    };
    const e: PlanEntry = { id: objectId(obj), ref, action: 'delete', changes: [], wave: 0 };
    if (kept) e.kept = true;
    return e;
  };
  return [...remove.map((o) => entry(o, false)), ...keep.map((o) => entry(o, true))];
}
