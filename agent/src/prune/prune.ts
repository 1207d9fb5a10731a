import { PART_OF_LABEL } from '../inventory/applyset.js';
import { mapBounded } from '../kube/pool.js';
import { type KubeClient, refOf } from '../kube/types.js';
import { type KubeObject, objectId } from '../model/object.js';
import { planErrorOf } from '../plan/plan.js';
import type { PlanError } from '../plan/types.js';
import { deletionRank } from './select.js';

export interface PruneOutcome {
  id: string;
  result: 'pruned' | 'kept' | 'failed';
  error?: PlanError;
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
          await client.delete(refOf(obj), { propagationPolicy: 'Background' });
          return { id: objectId(obj), result: 'pruned' };
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
