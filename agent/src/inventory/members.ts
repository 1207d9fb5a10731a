import type { KubeClient } from '../kube/types.js';
import type { KubeObject } from '../model/object.js';
import { PART_OF_LABEL, parseGroupKind } from './applyset.js';

/** Live members of the ApplySet: one LIST per recorded group-kind, cluster-wide, by the part-of label. */
export async function listMembers(
  client: KubeClient,
  applySetId: string,
  groupKinds: string[],
): Promise<KubeObject[]> {
  const lists = await Promise.all(
    groupKinds.map(async (gk) => {
      const { group, kind } = parseGroupKind(gk);
      const info = await client.resourceForGroupKind(group, kind);
      if (!info) return [];
      const apiVersion = info.group ? `${info.group}/${info.version}` : info.version;
      return client.list(apiVersion, info.kind, { labelSelector: `${PART_OF_LABEL}=${applySetId}` });
    }),
  );
  return lists.flat();
}
