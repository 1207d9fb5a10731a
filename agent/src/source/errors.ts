/** Why a fetch failed, as the reason a report carries, and the errors a Git source throws. */
import { redactUrlsIn } from '../../../contract/redact.js';
import { GitTimeoutError } from './http.js';
import { SshTransportError } from './ssh-transport.js';
import { SignatureError } from './verify.js';

/** Why a source could not give a fresh commit. The commit in use, if any, stays in force. */
export type SourceErrorReason =
  | 'SourceUnavailable'
  | 'SourceAuthFailed'
  | 'RefNotFound'
  | 'SourceCorrupt'
  | 'SignatureRejected';

/** A fetch failure as reported: its reason, a message without credentials, and since when. */
export interface SourceError {
  reason: SourceErrorReason;
  message: string;
  /** ISO time of the first failure of the current streak. */
  since: string;
}

/** A commit the cache cannot read in full: the cache is dropped and fetched again. */
export class SourceCorruptError extends Error {
  constructor(readonly commit: string) {
    super(`commit ${commit} is damaged or incomplete in the Git cache`);
    this.name = 'SourceCorruptError';
  }
}

/** The configured ref is not on the remote. */
export class RefMissingError extends Error {
  constructor(readonly ref: string) {
    super(`ref ${ref} does not exist on the remote`);
    this.name = 'RefMissingError';
  }
}

/**
 * The remote advertised the ref but its pack lacked an object the commit needs (its repository
 * is damaged, or its upload-pack died mid-stream): said as such, never as a missing ref.
 */
export class IncompleteFetchError extends Error {
  constructor(
    readonly ref: string,
    readonly oid: string,
  ) {
    super(`the remote sent no object ${oid} for ref ${ref} (an incomplete pack; is its repository damaged?)`);
    this.name = 'IncompleteFetchError';
  }
}

/** A fetch error's report reason, and whether the remote answered at all. */
export function classifyFetchError(err: unknown): { reason: SourceErrorReason; reachable: boolean } {
  const e = err as { code?: string; data?: { statusCode?: number }; name?: string };
  if (err instanceof IncompleteFetchError) return { reason: 'SourceUnavailable', reachable: true };
  if (err instanceof RefMissingError || e.code === 'NotFoundError')
    return { reason: 'RefNotFound', reachable: true };
  if (err instanceof SignatureError) return { reason: 'SignatureRejected', reachable: true };
  if (err instanceof SshTransportError) {
    const trust = err.kind === 'HostKey' || err.kind === 'Auth';
    return {
      reason: trust ? 'SourceAuthFailed' : 'SourceUnavailable',
      reachable: trust || err.kind === 'Remote',
    };
  }
  const status = e.data?.statusCode;
  if (status === 401 || status === 403 || e.code === 'UserCanceledError') {
    return { reason: 'SourceAuthFailed', reachable: true };
  }
  if (err instanceof GitTimeoutError || status !== undefined || typeof e.code === 'string') {
    return { reason: 'SourceUnavailable', reachable: false };
  }
  return { reason: 'SourceUnavailable', reachable: false };
}

/** A fetch error as one line naming the URL and ref, with any user info in a URL removed. */
export function describeFetchError(err: unknown, url: string, ref: string): string {
  const e = err as { code?: string; message?: string; data?: { statusCode?: number } };
  if (err instanceof IncompleteFetchError) return `${url}: ${err.message}; keeping the last commit`;
  if (err instanceof RefMissingError || e.code === 'NotFoundError') return `ref ${ref} not found at ${url}`;
  if (e.data?.statusCode) return `${url} answered HTTP ${e.data.statusCode}`;
  if (err instanceof GitTimeoutError) return err.message;
  if (err instanceof SshTransportError) return `${url}: ${err.message}`;
  if (err instanceof SignatureError) return `${url} ${ref}: ${err.message}; not rendered or applied`;
  const text = e.message ?? String(err);
  // Messages may quote the URL; never let user info in a URL reach a log or a report.
  return `${url}: ${redactUrlsIn(text)}`.slice(0, 1000);
}
