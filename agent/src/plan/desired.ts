import { withMembership } from '../inventory/applyset.js';
import type { KubeClient, ResourceInfo } from '../kube/types.js';
import { groupOf, type KubeObject, objectId } from '../model/object.js';
import { hashOf } from './hash.js';
import { isCrd, waveOf } from './order.js';

/** The annotation holding the hash of what Strata last applied, to see drift without a dry run. */
export const DESIRED_HASH_ANNOTATION = 'strata.dev/desired-hash';
/** The annotation that allows deleting and recreating an object whose immutable fields changed. */
export const REPLACE_ANNOTATION = 'strata.dev/replace';

/** One object the render wants, prepared for the cluster. */
export interface DesiredObject {
  /** Canonical id after namespace defaulting. */
  id: string;
  /** As applied: ApplySet membership label and desired-hash annotation added. */
  object: KubeObject;
  /** Hash of the rendered object: unchanged hash + unchanged live object = nothing to do. */
  hash: string;
  /** Discovery answer; undefined when the cluster does not serve the kind (yet). */
  info?: ResourceInfo;
  /** For a kind not served yet: the id of the CRD in this sync that defines it. */
  crdId?: string;
  namespaced: boolean;
  wave: number;
  replace: boolean;
  /** A problem with the object itself that stops it from being applied. */
  problem?: string;
}

interface CrdScope {
  id: string;
  namespaced: boolean;
}

/** `group/Kind` → the CRD of this sync that serves it. */
function crdsInSync(objects: KubeObject[]): Map<string, CrdScope> {
  const out = new Map<string, CrdScope>();
  for (const obj of objects) {
    if (!isCrd(obj)) continue;
    const spec = (obj.spec ?? {}) as { group?: string; scope?: string; names?: { kind?: string } };
    if (spec.group && spec.names?.kind) {
      out.set(`${spec.group}/${spec.names.kind}`, {
        id: objectId(obj),
        namespaced: spec.scope !== 'Cluster',
      });
    }
  }
  return out;
}

function waveOrProblem(obj: KubeObject): { wave: number; problem?: string } {
  try {
    return { wave: waveOf(obj) };
  } catch (err) {
    return { wave: 0, problem: (err as Error).message };
  }
}

/**
 * Resolves each rendered object against discovery: namespaced kinds without a namespace get the
 * default one, cluster-scoped kinds lose a stray namespace, and every object is labelled into the
 * ApplySet and stamped with its desired hash.
 */
export async function prepareDesired(
  client: KubeClient,
  objects: KubeObject[],
  opts: { applySetId: string; defaultNamespace: string },
): Promise<DesiredObject[]> {
  const crds = crdsInSync(objects);
  // A discovery error (403 on a group, a group that times out) is that object's error, not the sync's.
  const lookups = await Promise.all(
    objects.map((o) =>
      client.resourceFor(o.apiVersion, o.kind).then(
        (info) => ({ info, failed: undefined }),
        (err: unknown) => ({ info: undefined, failed: err instanceof Error ? err.message : String(err) }),
      ),
    ),
  );
  return objects.map((raw, i) => {
    const { info, failed } = lookups[i] ?? { info: undefined, failed: undefined };
    const crd = info ? undefined : crds.get(`${groupOf(raw.apiVersion)}/${raw.kind}`);
    const namespaced = info ? info.namespaced : (crd?.namespaced ?? Boolean(raw.metadata.namespace));
    const metadata = { ...raw.metadata };
    if (namespaced && !metadata.namespace) metadata.namespace = opts.defaultNamespace;
    if (!namespaced) delete metadata.namespace;
    const rendered: KubeObject = { ...raw, metadata };
    const hash = hashOf(rendered);
    const member = withMembership(rendered, opts.applySetId);
    member.metadata.annotations = { ...member.metadata.annotations, [DESIRED_HASH_ANNOTATION]: hash };
    const { wave, problem } = waveOrProblem(raw);
    const d: DesiredObject = {
      id: objectId(member),
      object: member,
      hash,
      namespaced,
      wave,
      replace: raw.metadata.annotations?.[REPLACE_ANNOTATION] === 'true',
    };
    if (info) d.info = info;
    if (crd) d.crdId = crd.id;
    if (problem) d.problem = problem;
    if (failed) d.problem = `discovery of ${raw.kind} in ${raw.apiVersion} failed: ${failed}`;
    return d;
  });
}
