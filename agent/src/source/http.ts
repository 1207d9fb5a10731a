/**
 * The HTTP client isomorphic-git talks through: node:http/https with one deadline for a whole Git
 * operation (isomorphic-git's own client takes no AbortSignal), so a hanging remote cannot stall
 * a reconcile. Not the global fetch: its undici bundle and WebAssembly HTTP parser would add about
 * 10 MB of resident memory to an agent that otherwise never loads them.
 */
import http from 'node:http';
import https from 'node:https';
import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';
import { redactUrl } from '../../../contract/redact.js';

/** A Git remote gave no answer in time; names the URL without credentials. */
export class GitTimeoutError extends Error {
  constructor(
    readonly url: string,
    readonly timeoutMs: number,
    options?: ErrorOptions,
  ) {
    super(`no answer from ${url} within ${timeoutMs}ms`, options);
    this.name = 'GitTimeoutError';
  }
}

const MAX_REDIRECTS = 10;

/** A client whose every request aborts when `signal` does (e.g. `AbortSignal.timeout`). */
export function deadlineHttpClient(signal: AbortSignal, timeoutMs: number): HttpClient {
  return {
    async request(req: GitHttpRequest): Promise<GitHttpResponse> {
      const body = req.body ? await collect(req.body) : undefined;
      const abort = req.signal ? AbortSignal.any([signal, req.signal as AbortSignal]) : signal;
      let url = req.url;
      let method = req.method ?? 'GET';
      let headers = { ...req.headers };
      let payload = body;
      for (let hop = 0; ; hop++) {
        let res: http.IncomingMessage;
        try {
          res = await send(url, method, headers, payload, abort);
        } catch (err) {
          if (signal.aborted) throw new GitTimeoutError(redactUrl(req.url), timeoutMs, { cause: err });
          throw err;
        }
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if (REDIRECTS.has(status) && location && hop < MAX_REDIRECTS) {
          res.resume();
          const next = new URL(location, url);
          // Credentials never follow a redirect to another origin. Like git itself, a POST stays a
          // POST on 301/302 (fetch would turn it into a GET, which no Git server answers); 303 is a GET.
          if (next.origin !== new URL(url).origin) headers = withoutAuth(headers);
          if (status === 303) {
            method = 'GET';
            payload = undefined;
            headers = withoutBodyHeaders(headers);
          }
          url = next.toString();
          continue;
        }
        return {
          url,
          method,
          statusCode: status,
          statusMessage: res.statusMessage ?? '',
          headers: flatHeaders(res.headers),
          body: guardBody(res, signal, req.url, timeoutMs),
        };
      }
    },
  };
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function send(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: Uint8Array | undefined,
  signal: AbortSignal,
): Promise<http.IncomingMessage> {
  const target = new URL(url);
  const client = target.protocol === 'https:' ? https : http;
  const outgoing = { ...headers };
  if (body !== undefined) outgoing['content-length'] = String(body.byteLength);
  return new Promise((resolve, reject) => {
    const req = client.request(target, { method, headers: outgoing, signal }, resolve);
    req.on('error', reject);
    req.end(body);
  });
}

function flatHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) flat[key] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

function withoutAuth(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).filter(([k]) => !['authorization', 'cookie'].includes(k.toLowerCase())),
  );
}

function withoutBodyHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !/^content-/i.test(k)));
}

async function collect(body: AsyncIterableIterator<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function* guardBody(
  res: http.IncomingMessage,
  signal: AbortSignal,
  url: string,
  timeoutMs: number,
): AsyncIterableIterator<Uint8Array> {
  try {
    for await (const chunk of res as AsyncIterable<Uint8Array>) yield chunk;
  } catch (err) {
    if (signal.aborted) throw new GitTimeoutError(redactUrl(url), timeoutMs, { cause: err });
    throw err;
  }
}
