/**
 * A preview ref pattern such as `refs/pull/*\/head`: `*` stands for one path segment. Matching is
 * exact and anchored, so `refs/pull/*\/head` never matches `refs/pull/7/merge` or `refs/pull/7/head/x`.
 */
export interface RefPattern {
  /** What to ask the server for (everything before the first `*`). */
  prefix: string;
  matches(ref: string): boolean;
}

/** A ref pattern (such as `refs/pull/*\/head`) as a matcher for the refs an agent previews. */
export function parseRefPattern(pattern: string): RefPattern {
  if (!/^refs\/\S+$/.test(pattern)) throw new Error(`preview ref pattern '${pattern}' must start with refs/`);
  const star = pattern.indexOf('*');
  const prefix = star < 0 ? pattern : pattern.slice(0, star);
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/]+');
  const regex = new RegExp(`^${source}$`);
  return { prefix, matches: (ref) => regex.test(ref) };
}
