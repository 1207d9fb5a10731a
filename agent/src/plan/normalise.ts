import type { KubeObject } from '../model/object.js';

/** kubectl's last-applied annotation, ignored in diffs: it only repeats the object. */
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

const SERVER_METADATA = [
  'managedFields',
  'resourceVersion',
  'generation',
  'uid',
  'creationTimestamp',
  'selfLink',
] as const;

/**
 * The object as the plan compares it: bookkeeping the apiserver writes (managedFields,
 * resourceVersion, generation, uid, creationTimestamp, the last-applied annotation) and status
 * are never differences. Returns a copy; the input is untouched.
 */
export function normalise(obj: KubeObject): KubeObject {
  const { status: _status, metadata, ...rest } = obj;
  const meta: KubeObject['metadata'] = { ...metadata };
  for (const key of SERVER_METADATA) delete meta[key];
  if (meta.annotations && LAST_APPLIED in meta.annotations) {
    const { [LAST_APPLIED]: _last, ...annotations } = meta.annotations;
    if (Object.keys(annotations).length > 0) meta.annotations = annotations;
    else delete meta.annotations;
  }
  return { ...rest, metadata: meta } as KubeObject;
}
