/**
 * Cluster tokens: `strata_<id>_<secret>`. The id finds the record; only SHA-256 of the secret is
 * stored, and it is compared in constant time. A token is bound to exactly one cluster.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Store, TokenRecord } from '../store/store.js';

const TOKEN = /^strata_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
/** Compared against when the id is unknown, so a miss costs the same as a wrong secret. */
const DUMMY_HASH = hashSecret('x'.repeat(43));

/** A cluster token as created: the secret shown once, and the record stored (its hash only). */
export interface NewToken {
  /** The full bearer token: shown once, never stored. */
  token: string;
  record: TokenRecord;
}

/** A new random bearer token for a cluster; only its hash is ever stored. */
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

/** Whether a bearer token is valid, and for which cluster; why not when it is not. */
export type TokenCheck = { ok: true; cluster: string; tokenId: string } | { ok: false; reason: string };

interface KnownToken {
  cluster: string;
  hash: Buffer;
  revoked: boolean;
}

/**
 * Resolves a bearer token to the one cluster it may write. Token records are kept in memory by id once read, so a
 * known token costs one SHA-256 and no database read. A record's id, cluster and hash never change;
 * only revocation does, and the cache is not the authority for it: the store checks the token again
 * inside the transaction that saves the report (`IncomingReport.tokenId`), so a token revoked by
 * another process (`strata hub token revoke`) is refused from the next report on, and `revoked()`
 * then records it here so later requests are refused before their body is read. Unknown ids are not
 * cached, so a token created after start-up is found on its first use.
 */
export class TokenCache {
  private readonly known = new Map<string, KnownToken>();

  constructor(private readonly store: Store) {}

  /** Synchronous when the token's record is already known. */
  verify(token: string): TokenCheck | Promise<TokenCheck> {
    const m = TOKEN.exec(token);
    if (!m) return { ok: false, reason: 'malformed token' };
    const id = m[1]!;
    const known = this.known.get(id);
    if (known) return this.check(id, known, m[2]!);
    return this.load(id, m[2]!);
  }

  /** The store refused a report of this token as revoked: refuse it here from now on. */
  revoked(id: string): void {
    const known = this.known.get(id);
    if (known) known.revoked = true;
  }

  private async load(id: string, secret: string): Promise<TokenCheck> {
    const record = await this.store.findToken(id);
    if (!record) {
      sameHash(hashSecret(secret), DUMMY_HASH);
      return { ok: false, reason: 'unknown token' };
    }
    const known = {
      cluster: record.cluster,
      hash: Buffer.from(record.hash, 'hex'),
      revoked: record.revokedAt !== null,
    };
    this.known.set(id, known);
    return this.check(id, known, secret);
  }

  private check(id: string, known: KnownToken, secret: string): TokenCheck {
    const given = createHash('sha256').update(secret).digest();
    if (given.length !== known.hash.length || !timingSafeEqual(given, known.hash))
      return { ok: false, reason: 'unknown token' };
    if (known.revoked) return { ok: false, reason: 'token revoked' };
    return { ok: true, cluster: known.cluster, tokenId: id };
  }
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
