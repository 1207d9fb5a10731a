import { isSensitive } from './secrets.js';

/** One field that differs between the live object and what applying would make it. */
export interface FieldChange {
  /** `.spec.replicas`, `.spec.template.spec.containers[name=web].image`, `.metadata.labels["app.kubernetes.io/name"]`. */
  path: string;
  op: 'add' | 'remove' | 'replace';
  before?: unknown;
  after?: unknown;
  /** The values are secret and were left out; the path still says which key changed. */
  redacted?: boolean;
}

type Json = unknown;

function isPlainObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const SIMPLE_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

function childPath(path: string, key: string): string {
  return SIMPLE_KEY.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/** Lists whose items all carry a distinct `name` are compared item by item on it, like Kubernetes does. */
function nameKeyed(list: Json[]): Map<string, Json> | undefined {
  const byName = new Map<string, Json>();
  for (const item of list) {
    if (!isPlainObject(item) || typeof item.name !== 'string' || byName.has(item.name)) return undefined;
    byName.set(item.name, item);
  }
  return byName;
}

function deepEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

function change(path: string, before: Json, after: Json, sensitive: string[]): FieldChange {
  const op = before === undefined ? 'add' : after === undefined ? 'remove' : 'replace';
  if (isSensitive(path, sensitive)) return { path, op, redacted: true };
  const c: FieldChange = { path, op };
  if (before !== undefined) c.before = before;
  if (after !== undefined) c.after = after;
  return c;
}

function diffObjects(
  path: string,
  before: Record<string, Json>,
  after: Record<string, Json>,
  sensitive: string[],
  out: FieldChange[],
): void {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  for (const key of [...keys].sort())
    diffValues(childPath(path, key), before[key], after[key], sensitive, out);
}

function diffLists(
  path: string,
  before: Json[],
  after: Json[],
  sensitive: string[],
  out: FieldChange[],
): void {
  const b = nameKeyed(before);
  const a = nameKeyed(after);
  if (a && b) {
    const names = [...b.keys(), ...[...a.keys()].filter((n) => !b.has(n))];
    for (const n of names) diffValues(`${path}[name=${n}]`, b.get(n), a.get(n), sensitive, out);
    return;
  }
  if (before.length !== after.length) {
    out.push(change(path, before, after, sensitive));
    return;
  }
  for (const [i, item] of before.entries()) diffValues(`${path}[${i}]`, item, after[i], sensitive, out);
}

function diffValues(path: string, before: Json, after: Json, sensitive: string[], out: FieldChange[]): void {
  if (deepEqual(before, after)) return;
  if (isPlainObject(before) && isPlainObject(after)) {
    diffObjects(path, before, after, sensitive, out);
  } else if (Array.isArray(before) && Array.isArray(after)) {
    diffLists(path, before, after, sensitive, out);
  } else if (isSensitive(path, sensitive) && (isPlainObject(before) || isPlainObject(after))) {
    // A whole secret map appearing or going away is reported key by key, never as one value.
    diffObjects(path, isPlainObject(before) ? before : {}, isPlainObject(after) ? after : {}, sensitive, out);
  } else {
    out.push(change(path, before, after, sensitive));
  }
}

/** Field-level differences between two JSON values; values under `sensitive` paths are never copied out. */
export function diffFields(before: Json, after: Json, sensitive: string[] = []): FieldChange[] {
  const out: FieldChange[] = [];
  diffValues('', before, after, sensitive, out);
  return out;
}
