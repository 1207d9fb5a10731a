import type { ClusterIdentity } from '../model/object.js';
import type { ValuePath } from './documents.js';

/** A `${cluster.…}` reference that could not be resolved, and where in the document it was. */
export interface VariableProblem {
  path: ValuePath;
  message: string;
}

// `$${` is an escape for a literal `${`; `${cluster.…}` is a variable; other `${…}` (shell, Helm) pass through.
const TOKEN = /\$\$\{|\$\{cluster\.([^}]*)(\})?/g;

/** The value of `${cluster.EXPR}` for this cluster, or `undefined` when it has none. */
export function resolveVariable(expr: string, cluster: ClusterIdentity): string | undefined {
  if (expr === 'name') return cluster.name;
  if (expr.startsWith('labels.')) {
    const key = expr.slice('labels.'.length);
    return Object.hasOwn(cluster.labels, key) ? cluster.labels[key] : undefined;
  }
  return undefined;
}

function substituteString(
  text: string,
  cluster: ClusterIdentity,
  path: ValuePath,
  problems: VariableProblem[],
) {
  if (!text.includes('${')) return text;
  return text.replace(TOKEN, (match, expr: string | undefined, closed: string | undefined) => {
    if (match === '$${') return '${';
    if (!closed) {
      problems.push({ path: [...path], message: `unterminated variable '${match}' (missing '}')` });
      return match;
    }
    const value = resolveVariable(expr!, cluster);
    if (value === undefined) {
      const label = expr!.startsWith('labels.');
      problems.push({
        path: [...path],
        message: label
          ? `unknown variable '${match}': cluster '${cluster.name}' has no label '${expr!.slice(7)}'`
          : `unknown variable '${match}': use \${cluster.name} or \${cluster.labels.KEY}`,
      });
      return match;
    }
    return value;
  });
}

/**
 * A deep copy of `value` with `${cluster.name}` and `${cluster.labels.KEY}` replaced in string values.
 * Copying and substituting in one walk gives each render its own objects to patch.
 */
export function substituteVariables(
  value: unknown,
  cluster: ClusterIdentity,
  problems: VariableProblem[],
  path: (string | number)[] = [],
): unknown {
  if (typeof value === 'string') return substituteString(value, cluster, path, problems);
  if (Array.isArray(value)) {
    return value.map((item, i) => {
      path.push(i);
      const copy = substituteVariables(item, cluster, problems, path);
      path.pop();
      return copy;
    });
  }
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      path.push(key);
      setOwn(copy, key, substituteVariables(item, cluster, problems, path));
      path.pop();
    }
    return copy;
  }
  return value;
}

/** Sets a property without ever touching the prototype, even for the key `__proto__`. */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

/**
 * Every `${cluster.EXPR}` expression in `value`'s strings, or `undefined` when one is unterminated
 * (a problem for every cluster). A cluster reads the value without problems exactly when each
 * expression resolves for it.
 */
export function variablesOf(value: unknown): string[] | undefined {
  const found = new Set<string>();
  let broken = false;
  const visit = (v: unknown): void => {
    if (typeof v === 'string') {
      if (!v.includes('${')) return;
      for (const m of v.matchAll(TOKEN)) {
        if (m[0] === '$${') continue;
        if (!m[2]) broken = true;
        else found.add(m[1]!);
      }
    } else if (Array.isArray(v)) v.forEach(visit);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(visit);
  };
  visit(value);
  return broken ? undefined : [...found];
}

/** Whether any string in `value` holds `${` (a variable or an escape), so it must be substituted per cluster. */
export function containsVariables(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('${');
  if (Array.isArray(value)) return value.some(containsVariables);
  if (value !== null && typeof value === 'object') return Object.values(value).some(containsVariables);
  return false;
}

/** A deep copy of JSON-like data: each render gets objects of its own to patch and hand out. */
export function cloneJson<T>(value: T): T {
  if (Array.isArray(value)) {
    const copy = new Array(value.length);
    for (let i = 0; i < value.length; i++) copy[i] = cloneJson(value[i]);
    return copy as T;
  }
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(value))
      setOwn(copy, key, cloneJson((value as Record<string, unknown>)[key]));
    return copy as T;
  }
  return value;
}
