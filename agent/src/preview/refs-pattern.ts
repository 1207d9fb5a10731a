/**
 * A preview ref pattern such as `refs/pull/*\/head`: `*` stands for one path segment. Matching is
 * exact and anchored, so `refs/pull/*\/head` never matches `refs/pull/7/merge` or `refs/pull/7/head/x`.
 */
export interface RefPattern {
  /** What to ask the server for (everything before the first `*`). */
  prefix: string;
  /** How many `*` the pattern holds. */
  stars: number;
  matches(ref: string): boolean;
  /** The segments the stars stood for in `ref`, or undefined when it does not match. */
  captures(ref: string): string[] | undefined;
  /** The ref this pattern names with `values` for its stars, in order. */
  fill(values: readonly string[]): string;
}

/** A ref pattern (such as `refs/pull/*\/head`) as a matcher for the refs an agent previews. */
export function parseRefPattern(pattern: string): RefPattern {
  if (!/^refs\/\S+$/.test(pattern)) throw new Error(`preview ref pattern '${pattern}' must start with refs/`);
  const star = pattern.indexOf('*');
  const prefix = star < 0 ? pattern : pattern.slice(0, star);
  const parts = pattern.split('*');
  const source = parts.map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('([^/]+)');
  const regex = new RegExp(`^${source}$`);
  return {
    prefix,
    stars: parts.length - 1,
    matches: (ref) => regex.test(ref),
    captures: (ref) => regex.exec(ref)?.slice(1),
    fill: (values) => parts.reduce((out, part, i) => `${out}${values[i - 1] ?? ''}${part}`),
  };
}

/** The ref's numbers (`refs/pull/123/head` → [123]), for ordering by pull-request number. */
function numbersOf(ref: string): number[] {
  return ref
    .split('/')
    .filter((segment) => /^\d{1,15}$/.test(segment))
    .map(Number);
}

/**
 * Newest first: GitHub, GitLab and Gitea number pull requests in the order they were opened, so a
 * higher number is a newer one (`refs/pull/120/head` before `refs/pull/99/head`, which plain string
 * order would put the other way round). Refs without a number follow, in name order. The ref
 * advertisement carries no dates, and fetching every head to read its date would cost a fetch per
 * ref, so the number is the measure of "newest".
 */
export function newestFirst<T extends { ref: string }>(refs: T[]): T[] {
  return [...refs].sort((a, b) => {
    const na = numbersOf(a.ref);
    const nb = numbersOf(b.ref);
    if (na.length !== nb.length) return nb.length - na.length || 0;
    for (let i = 0; i < na.length; i++) if (na[i] !== nb[i]) return nb[i]! - na[i]!;
    return a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0;
  });
}
