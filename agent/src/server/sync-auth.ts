/**
 * Who may ask for a reconcile (`POST /sync`). With a token file, only a request bearing that token
 * (`Authorization: Bearer …`), from anywhere; without one, only a client on the loopback interface
 * (in a pod: `kubectl port-forward`, `kubectl exec`, a sidecar), so a port reachable on the pod
 * network does not let every workload of the cluster drive the agent.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type http from 'node:http';

/** The verdict on one request: go ahead, or the status and message to answer with. */
export type SyncAuthorization = { ok: true } | { ok: false; status: 401 | 403; error: string };

/** Judges one `POST /sync` request. */
export type SyncAuthorizer = (req: http.IncomingMessage) => Promise<SyncAuthorization>;

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 addresses. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return v4 === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** The token in a file: trimmed; an empty file is refused, never "no token needed". */
export async function readSyncToken(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`syncTokenFile ${file}: cannot be read (${(err as Error).message})`, { cause: err });
  }
  const token = text.trim();
  if (!token) throw new Error(`syncTokenFile ${file}: the file is empty; write a token into it`);
  return token;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Compares digests, so neither the token's length nor its bytes leak through timing. */
function sameToken(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * The authorizer for `POST /sync`. The token file is read again on each request, so a rotated
 * Secret takes effect without a restart; a file that became unreadable or empty refuses every
 * request (never falls back to no authentication).
 */
export function syncAuthorizer(tokenFile: string | undefined): SyncAuthorizer {
  if (!tokenFile) {
    return async (req) =>
      isLoopback(req.socket.remoteAddress)
        ? { ok: true }
        : {
            ok: false,
            status: 403,
            error:
              'POST /sync answers only loopback clients; set syncTokenFile to allow others with a bearer token',
          };
  }
  return async (req) => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) return { ok: false, status: 401, error: 'POST /sync needs Authorization: Bearer <token>' };
    let expected: string;
    try {
      expected = await readSyncToken(tokenFile);
    } catch {
      // The path stays out of an answer to a client that has not proven anything yet.
      return { ok: false, status: 403, error: 'POST /sync: the agent cannot read its token file' };
    }
    return sameToken(match[1]!, expected)
      ? { ok: true }
      : { ok: false, status: 401, error: 'POST /sync: wrong token' };
  };
}
