/**
 * Cluster tokens: `strata_<id>_<secret>`. The id finds the record; only SHA-256 of the secret is
 * stored, and it is compared in constant time. A token is bound to exactly one cluster.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Store, TokenRecord } from '../store/store.js';

const TOKEN = /^strata_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
/** Compared against when the id is unknown, so a miss costs the same as a wrong secret. */
const DUMMY_HASH = hashSecret('x'.repeat(43));

export interface NewToken {
  /** The full bearer token: shown once, never stored. */
  token: string;
  record: TokenRecord;
}

export function generateToken(cluster: string, now: Date): NewToken {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return {
    token: `strata_${id}_${secret}`,
    record: { id, cluster, hash: hashSecret(secret), createdAt: now.toISOString(), revokedAt: null },
  };
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

export type TokenCheck = { ok: true; cluster: string; tokenId: string } | { ok: false; reason: string };

/** Resolves a bearer token to the one cluster it may write. */
export async function verifyToken(store: Store, token: string): Promise<TokenCheck> {
  const m = TOKEN.exec(token);
  if (!m) return { ok: false, reason: 'malformed token' };
  const record = await store.findToken(m[1]!);
  const matches = sameHash(hashSecret(m[2]!), record?.hash ?? DUMMY_HASH);
  if (!record || !matches) return { ok: false, reason: 'unknown token' };
  if (record.revokedAt) return { ok: false, reason: 'token revoked' };
  return { ok: true, cluster: record.cluster, tokenId: record.id };
}

/** The credential of an `Authorization` header: `Bearer T`, or the password of `Basic` (for browsers). */
export function credentialOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const [scheme, value] = header.split(' ', 2);
  if (!value) return undefined;
  if (scheme?.toLowerCase() === 'bearer') return value.trim();
  if (scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    return decoded.slice(decoded.indexOf(':') + 1);
  }
  return undefined;
}

/** Constant-time check of the optional read token guarding the read API and dashboard. */
export function readAllowed(expected: string | undefined, given: string | undefined): boolean {
  if (expected === undefined) return true;
  if (given === undefined) return false;
  return sameHash(hashSecret(expected), hashSecret(given));
}
