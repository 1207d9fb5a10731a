/**
 * The HTTP client isomorphic-git talks through: Node's fetch with one deadline for a whole Git
 * operation (isomorphic-git's own fetch takes no AbortSignal), so a hanging remote cannot stall
 * a reconcile.
 */
import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';

export class GitTimeoutError extends Error {
  constructor(
    readonly url: string,
    readonly timeoutMs: number,
  ) {
    super(`no answer from ${url} within ${timeoutMs}ms`);
    this.name = 'GitTimeoutError';
  }
}

/** A client whose every request aborts when `signal` does (e.g. `AbortSignal.timeout`). */
export function deadlineHttpClient(signal: AbortSignal, timeoutMs: number): HttpClient {
  return {
    async request(req: GitHttpRequest): Promise<GitHttpResponse> {
      const body = req.body ? await collect(req.body) : undefined;
      let res: Response;
      try {
        res = await fetch(req.url, {
          method: req.method ?? 'GET',
          headers: req.headers,
          body,
          signal: req.signal ? AbortSignal.any([signal, req.signal]) : signal,
          redirect: 'follow',
        });
      } catch (err) {
        if (signal.aborted) throw new GitTimeoutError(redactUrl(req.url), timeoutMs);
        throw unwrapCause(err);
      }
      const headers: Record<string, string> = {};
      res.headers.forEach((value, key) => {
        headers[key] = value;
      });
      return {
        url: res.url,
        method: req.method,
        statusCode: res.status,
        statusMessage: res.statusText,
        headers,
        body: res.body ? guardBody(res.body, signal, req.url, timeoutMs) : emptyBody(),
      };
    },
  };
}

/** A URL without user info, safe for logs and reports. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^/@]*@/, '//');
  }
}

async function collect(body: AsyncIterableIterator<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function* guardBody(
  stream: ReadableStream<Uint8Array>,
  signal: AbortSignal,
  url: string,
  timeoutMs: number,
): AsyncIterableIterator<Uint8Array> {
  try {
    for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) yield chunk;
  } catch (err) {
    if (signal.aborted) throw new GitTimeoutError(redactUrl(url), timeoutMs);
    throw unwrapCause(err);
  }
}

async function* emptyBody(): AsyncIterableIterator<Uint8Array> {}

/** fetch wraps socket errors as `TypeError: fetch failed`; the cause says what happened (ECONNREFUSED). */
function unwrapCause(err: unknown): unknown {
  if (err instanceof TypeError && err.cause instanceof Error) return err.cause;
  return err;
}
