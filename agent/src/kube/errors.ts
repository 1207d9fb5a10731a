import type { ObjectRef } from './types.js';

/** A field the apiserver named in a Status cause. */
export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** The reasons Kubernetes defines for a failed request (metav1.StatusReason). */
export type KubeStatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Invalid'
  | 'ServerTimeout'
  | 'StoreReadError'
  | 'Timeout'
  | 'TooManyRequests'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'InternalError'
  | 'Expired'
  | 'ServiceUnavailable';

/**
 * The reason of an apiserver's answer: a `KubeStatusReason`, `HTTP<code>` when the body was no
 * Status, or our `KindNotServed` (the cluster does not serve the kind). A webhook or an aggregated
 * API may send a reason of its own; it is reported as sent, typed `OtherApiserverReason`, so a
 * misspelt reason in our own code still fails to compile.
 */
export type ApiserverReason = KubeStatusReason | `HTTP${number}` | 'KindNotServed' | OtherApiserverReason;

/** A reason off the wire that Kubernetes does not define: only `apiserverReason` makes one. */
export type OtherApiserverReason = string & { readonly otherApiserverReason: true };

/** The reason text of an apiserver's Status as an `ApiserverReason`, kept as sent. */
export function apiserverReason(text: string): ApiserverReason {
  return text as ApiserverReason;
}

/** A non-2xx answer from the apiserver, with the parts of its Status the engine reasons about. */
export class KubeApiError extends Error {
  readonly code: number;
  readonly reason: ApiserverReason;
  readonly causes: StatusCause[];
  readonly object?: ObjectRef;
  readonly verb: string;

  constructor(args: {
    code: number;
    reason: ApiserverReason;
    message: string;
    causes?: StatusCause[];
    object?: ObjectRef;
    verb: string;
  }) {
    super(args.message);
    this.name = 'KubeApiError';
    this.code = args.code;
    this.reason = args.reason;
    this.causes = args.causes ?? [];
    this.verb = args.verb;
    if (args.object) this.object = args.object;
  }

  get isNotFound(): boolean {
    return this.code === 404;
  }

  get isConflict(): boolean {
    return this.code === 409;
  }

  /** The apiserver rejects a change to an immutable field as 422 Invalid with "field is immutable". */
  get isImmutable(): boolean {
    return (
      this.code === 422 &&
      (this.message.includes('immutable') || this.causes.some((c) => c.message?.includes('immutable')))
    );
  }
}

/** Builds the error from a response body that is usually, but not always, a Status object. */
export function errorFromResponse(
  code: number,
  body: string,
  verb: string,
  object?: ObjectRef,
): KubeApiError {
  let status: { reason?: string; message?: string; details?: { causes?: StatusCause[] } } = {};
  try {
    status = JSON.parse(body);
  } catch {
    status = { message: body.slice(0, 500) };
  }
  return new KubeApiError({
    code,
    reason: typeof status.reason === 'string' ? apiserverReason(status.reason) : `HTTP${code}`,
    message: status.message || `HTTP ${code} from the apiserver`,
    causes: status.details?.causes ?? [],
    verb,
    ...(object ? { object } : {}),
  });
}
