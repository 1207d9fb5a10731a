import type { KubeClient } from '../kube/types.js';
import type { KubeObject } from '../model/object.js';
import { type ApplySetInventory, type ApplySetParentRef, PART_OF_LABEL, parseGroupKind } from './applyset.js';

/**
 * One LIST of ApplySet members: a group-kind in one namespace, or cluster-wide for a
 * cluster-scoped kind (`namespace` undefined).
 */
export interface MemberScope {
  groupKind: string;
  namespace?: string;
}

/** What one scope's LIST found, or why it could not be listed. */
export interface ScopeListing {
  scope: MemberScope;
  items: KubeObject[];
  /** Set when the LIST failed; `items` is then empty. */
  error?: unknown;
}

/** `ConfigMap in shop`, `Namespace (cluster-wide)`: a scope as an error message names it. */
export function describeScope(scope: MemberScope): string {
  return scope.namespace === undefined
    ? `${scope.groupKind} (cluster-wide)`
    : `${scope.groupKind} in namespace ${scope.namespace}`;
}

/**
 * The namespaces that may hold namespaced members, as KEP-3659 defines them: the parent's own
 * namespace plus the parent's `additional-namespaces`. Listing only these (instead of across all
 * namespaces) is what lets an agent with namespaced Roles read its own inventory.
 */
export function memberNamespaces(parent: ApplySetParentRef, inventory: ApplySetInventory): string[] {
  return [...new Set([parent.namespace, ...inventory.namespaces])].sort();
}

/**
 * Lists the live members of the ApplySet, one LIST per scope, each on its own: a scope the agent
 * may not list (403) or that fails otherwise is returned with its error and the rest are listed.
 * A group-kind the cluster no longer serves has no members.
 */
export async function listMembers(
  client: KubeClient,
  applySetId: string,
  parent: ApplySetParentRef,
  inventory: ApplySetInventory,
): Promise<ScopeListing[]> {
  const namespaces = memberNamespaces(parent, inventory);
  const perKind = await Promise.all(
    inventory.groupKinds.map(async (groupKind): Promise<ScopeListing[]> => {
      const { group, kind } = parseGroupKind(groupKind);
      let info: Awaited<ReturnType<KubeClient['resourceForGroupKind']>>;
      try {
        info = await client.resourceForGroupKind(group, kind);
      } catch (error) {
        return [{ scope: { groupKind }, items: [], error }];
      }
      if (!info) return [];
      const apiVersion = info.group ? `${info.group}/${info.version}` : info.version;
      const labelSelector = `${PART_OF_LABEL}=${applySetId}`;
      const scopes: MemberScope[] = info.namespaced
        ? namespaces.map((namespace) => ({ groupKind, namespace }))
        : [{ groupKind }];
      return Promise.all(
        scopes.map((scope) =>
          client
            .list(apiVersion, info.kind, {
              labelSelector,
              ...(scope.namespace === undefined ? {} : { namespace: scope.namespace }),
            })
            .then(
              (items): ScopeListing => ({ scope, items }),
              (error: unknown): ScopeListing => ({ scope, items: [], error }),
            ),
        ),
      );
    }),
  );
  return perKind.flat();
}
