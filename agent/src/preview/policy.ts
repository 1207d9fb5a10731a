/**
 * Which preview refs are dry-run at all. A pull request's author is not trusted, and a dry-run
 * costs the cluster requests and tells the author what admission says: only refs the policy
 * admits reach render and plan. The default admits only heads signed by a trusted key.
 */
import type { PreviewPolicy } from '../config/schema.js';
import { parseRefPattern, type RefPattern } from './refs-pattern.js';

/** A source's preview policy, resolved: trust, the key files, the refs previewed unsigned. */
export interface PreviewAdmission {
  trust: 'signed' | 'everyone';
  /** The policy's own keys, or the source's `verify.keys`; empty: no signed head can pass. */
  keys: string[];
  allowRefs: RefPattern[];
}

/** The policy as configured (absent: signed heads only), with the source's verify keys as default keys. */
export function previewAdmission(
  policy: Partial<PreviewPolicy> | undefined,
  verifyKeys: string[] | undefined,
): PreviewAdmission {
  return {
    trust: policy?.trust ?? 'signed',
    keys: policy?.keys ?? verifyKeys ?? [],
    allowRefs: (policy?.allowRefs ?? []).map(parseRefPattern),
  };
}

/** Why a ref is admitted without a signature check, or undefined when its head must be signed. */
export function admittedUnsigned(admission: PreviewAdmission, ref: string): string | undefined {
  if (admission.trust === 'everyone') return 'trust: everyone';
  return admission.allowRefs.some((p) => p.matches(ref)) ? 'allowRefs' : undefined;
}

/** The refusal when no key could ever pass: nothing to fetch or check. */
export function noKeysRefusal(admission: PreviewAdmission): string | undefined {
  if (admission.keys.length > 0) return undefined;
  return (
    'not previewed: the preview policy trusts only heads signed by a trusted key and no key is set ' +
    '(previewPolicy.keys or verify.keys; previewPolicy.trust: everyone previews every ref)'
  );
}
