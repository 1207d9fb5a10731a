import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';

export interface HttpAnswer {
  status: number;
  body: string;
}

export interface HttpCall {
  url: string;
  method?: string;
  body?: unknown;
  /** Bearer token for the apiserver. */
  token?: string;
  /** PEM CA bundle to verify the server with; without it (loopback probes only) TLS is not verified. */
  ca?: string;
  timeoutMs?: number;
}

/** One HTTP(S) request on loopback; resolves with status and body, rejects on network errors. */
export function call({
  url,
  method = 'GET',
  body,
  token,
  ca,
  timeoutMs = 5_000,
}: HttpCall): Promise<HttpAnswer> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method,
        timeout: timeoutMs,
        ...(target.protocol === 'https:' ? { ca, rejectUnauthorized: ca !== undefined } : {}),
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(payload ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs}ms: ${method} ${url}`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** True when `url` answers 200 (any error or other status is false). */
export async function answersOk(probe: HttpCall): Promise<boolean> {
  try {
    return (await call(probe)).status === 200;
  } catch {
    return false;
  }
}

/**
 * Reserves `count` distinct free loopback ports. The listeners are held until all are chosen, so
 * the ports differ from each other; another program could still take one before we use it.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => {
      const server = createServer();
      return new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve(server));
      });
    }),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (address === null || typeof address === 'string')
      throw new Error('lab: no port from a loopback listener');
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}
