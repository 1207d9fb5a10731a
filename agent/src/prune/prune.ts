import { PART_OF_LABEL } from '../inventory/applyset.js';
import { KubeApiError } from '../kube/errors.js';
import { mapBounded } from '../kube/pool.js';
import { type KubeClient, refOf } from '../kube/types.js';
import { type KubeObject, objectId } from '../model/object.js';
import { planErrorOf } from '../plan/plan.js';
import type { PlanError } from '../plan/types.js';
import { deletionRank } from './select.js';

/** What pruning one object did: deleted, kept, gone already or failed. */
export interface PruneOutcome {
  id: string;
  /** `skipped`: the object was deleted and re-created by someone else after it was listed: not ours. */
  result: 'pruned' | 'kept' | 'skipped' | 'failed';
  error?: PlanError;
}

/** Tries of one delete whose object keeps changing under it (a controller writing its status). */
const DELETE_TRIES = 3;

/**
 * Deletes exactly the member that was listed: the uid and resourceVersion preconditions make the
 * apiserver refuse (409) when the object was replaced or changed since. A changed member that is
 * still the same object and still ours is read again and deleted; a replaced one is left alone.
 */
async function deleteMember(client: KubeClient, listed: KubeObject): Promise<PruneOutcome> {
  const id = objectId(listed);
  const applySet = listed.metadata.labels?.[PART_OF_LABEL];
  let current = listed;
  for (let attempt = 1; ; attempt++) {
    const uid = current.metadata.uid as string | undefined;
    const resourceVersion = current.metadata.resourceVersion as string | undefined;
    try {
      await client.delete(refOf(current), {
        propagationPolicy: 'Background',
        ...(uid ? { preconditions: { uid, ...(resourceVersion ? { resourceVersion } : {}) } } : {}),
      });
      return { id, result: 'pruned' };
    } catch (err) {
      if (!(err instanceof KubeApiError && err.isConflict) || attempt >= DELETE_TRIES) throw err;
    }
    const fresh = await client.get(refOf(listed));
    if (!fresh) return { id, result: 'pruned' };
    if (fresh.metadata.uid !== uid || fresh.metadata.labels?.[PART_OF_LABEL] !== applySet) {
      return { id, result: 'skipped' };
    }
    current = fresh;
  }
}

/**
 * Deletes members the render dropped, dependents first (namespaced, cluster-scoped, Namespaces,
 * CRDs); kept members leave the ApplySet (their part-of label is removed) but stay in the cluster.
 */
export async function pruneMembers(
  client: KubeClient,
  remove: KubeObject[],
  keep: KubeObject[],
  opts: { fieldManager: string; concurrency: number },
): Promise<PruneOutcome[]> {
  const outcomes: PruneOutcome[] = [];
  const ranks = [...new Set(remove.map(deletionRank))].sort((a, b) => a - b);
  for (const rank of ranks) {
    const batch = remove.filter((o) => deletionRank(o) === rank);
    outcomes.push(
      ...(await mapBounded(batch, opts.concurrency, async (obj): Promise<PruneOutcome> => {
        try {
          return await deleteMember(client, obj);
        } catch (err) {
          return { id: objectId(obj), result: 'failed', error: planErrorOf(err) };
        }
      })),
    );
  }
  for (const obj of keep) {
    try {
      await client.mergePatch(
        refOf(obj),
        { metadata: { labels: { [PART_OF_LABEL]: null } } },
        opts.fieldManager,
      );
      outcomes.push({ id: objectId(obj), result: 'kept' });
    } catch (err) {
      outcomes.push({ id: objectId(obj), result: 'failed', error: planErrorOf(err) });
    }
  }
  return outcomes;
}
