/** The small HTTP vocabulary of the hub: replies, errors with a status, and reading a bounded body. */
import type { IncomingMessage } from 'node:http';

/** One HTTP answer: status, headers and body, written at the edge. */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body: string | Buffer;
}

/** An error that becomes an HTTP answer: `{ "error": message, ...details }`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details: Record<string, unknown> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'HttpError';
  }
}

/** The headers of every JSON answer without extra headers: one shared object the server recognises. */
export const JSON_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'application/json; charset=utf-8',
});

/** A JSON answer with the API's headers. */
export function json(status: number, value: unknown, headers?: Record<string, string>): Reply {
  return {
    status,
    headers: headers ? { ...JSON_HEADERS, ...headers } : JSON_HEADERS,
    body: JSON.stringify(value),
  };
}

/** An HttpError as the JSON error body the API answers with. */
export function errorReply(err: HttpError): Reply {
  return json(err.status, { error: err.message, ...err.details });
}

/** Reads the request body, refusing (413) past `limit` bytes before buffering them. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => new BodyReader(req, limit, resolve, reject));
}

/**
 * The listeners of one body read. Plain methods bound once, not closures: this runs for every
 * report, and named closures are not free (each one made per request costs a little, more so under
 * tsx, which gives each its name at run time).
 */
class BodyReader {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private readonly onData = this.data.bind(this);
  private readonly onEnd = this.end.bind(this);
  private readonly onError = this.error.bind(this);
  private readonly onClose = this.close.bind(this);

  constructor(
    private readonly req: IncomingMessage,
    private readonly limit: number,
    private readonly resolve: (body: Buffer) => void,
    private readonly reject: (err: Error) => void,
  ) {
    req.on('data', this.onData);
    req.on('end', this.onEnd);
    req.on('error', this.onError);
    req.on('close', this.onClose);
  }

  private stop(): void {
    this.req.off('data', this.onData);
    this.req.off('end', this.onEnd);
    this.req.off('error', this.onError);
    this.req.off('close', this.onClose);
  }

  private data(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.size <= this.limit) {
      this.chunks.push(chunk);
      return;
    }
    // Stop buffering; the 413 answer closes the connection (see hub/src/server.ts).
    this.stop();
    this.req.pause();
    this.reject(tooLarge(this.limit));
  }

  private end(): void {
    this.stop();
    this.resolve(this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size));
  }

  private error(err: Error): void {
    this.stop();
    this.reject(err);
  }

  private close(): void {
    this.stop();
    this.reject(new Error('the request was closed before its body was complete'));
  }
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, `request body is larger than the limit of ${limit} bytes`, { limit });
}

/** A request body as JSON; a 400 naming the syntax error when it is not. */
export function parseJson(body: Buffer | string): unknown {
  try {
    return JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (err) {
    throw new HttpError(400, `body is not valid JSON: ${(err as Error).message}`, {}, { cause: err });
  }
}
