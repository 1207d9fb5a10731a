import { REDACTED } from '../../../contract/redact.js';
import type { KubeObject } from '../model/object.js';

/** Whether an object is a Secret, whose values a plan never shows. */
export function isSecret(obj: Pick<KubeObject, 'apiVersion' | 'kind'>): boolean {
  return obj.kind === 'Secret' && obj.apiVersion === 'v1';
}

/** Paths whose values are secret for this object: a Secret's `data` and `stringData`. */
export function sensitivePaths(obj: Pick<KubeObject, 'apiVersion' | 'kind'>): string[] {
  return isSecret(obj) ? ['.data', '.stringData'] : [];
}

/** Whether a field path falls under one of the paths marked sensitive, so its values are masked. */
export function isSensitive(path: string, sensitive: string[]): boolean {
  return sensitive.some((p) => path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`));
}

/** A copy safe to print or log: Secret values replaced, keys kept; the last-applied annotation dropped. */
export function redactObject(obj: KubeObject): KubeObject {
  if (!isSecret(obj)) return obj;
  const copy: KubeObject = { ...obj, metadata: { ...obj.metadata } };
  for (const field of ['data', 'stringData']) {
    const values = obj[field];
    if (values && typeof values === 'object') {
      copy[field] = Object.fromEntries(Object.keys(values).map((k) => [k, REDACTED]));
    }
  }
  const annotations = obj.metadata.annotations;
  if (annotations && 'kubectl.kubernetes.io/last-applied-configuration' in annotations) {
    const { 'kubectl.kubernetes.io/last-applied-configuration': _secretCopy, ...rest } = annotations;
    copy.metadata.annotations = rest;
  }
  return copy;
}
