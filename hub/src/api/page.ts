/**
 * Cursor pagination for list endpoints, like the Kubernetes API: `?limit=N` caps a page, and a page
 * that is not the last carries `continue`, an opaque token to pass back for the next one. The token
 * holds where the page ended (a cluster name, or a seq for history), so a page costs the same however
 * deep it is, and clusters added or removed meanwhile never shift later pages.
 */
import { HttpError } from './http.js';

/** Items per page of a list when the request gives no `limit`. */
export const DEFAULT_PAGE = 100;
/** The largest `limit` a list accepts. */
export const MAX_PAGE = 1000;

type Position = string | number;

/** Which list a token belongs to: a token of one list is refused by another. */
export type ListKind = 'clusters' | 'rollout' | 'history';

/** The opaque token that continues a list after a position; null at the end. */
export function continueToken(list: ListKind, after: Position | null): string | null {
  if (after === null) return null;
  return Buffer.from(JSON.stringify([list, after])).toString('base64url');
}

/**
 * The position a `continue` token stands for; a 400 for a token of another list or a forged one.
 */
export function positionOf(list: ListKind, token: string | null): Position | undefined {
  if (token === null || token === '') return undefined;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    decoded = undefined;
  }
  if (
    !Array.isArray(decoded) ||
    decoded.length !== 2 ||
    decoded[0] !== list ||
    (typeof decoded[1] !== 'string' && !Number.isSafeInteger(decoded[1]))
  ) {
    throw new HttpError(
      400,
      `invalid continue token: pass the "continue" of the previous ${list} page unchanged`,
    );
  }
  return decoded[1] as Position;
}

/** A list's `limit` parameter within 1 and MAX_PAGE. */
export function pageLimitOf(text: string | null): number {
  if (text === null || text === '') return DEFAULT_PAGE;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE) {
    throw new HttpError(400, `limit must be an integer from 1 to ${MAX_PAGE}, got "${text}"`);
  }
  return n;
}
