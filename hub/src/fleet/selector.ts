/**
 * Kubernetes label selectors (`env=prod,tier!=edge`, `region in (a,b)`, `!canary`, `gpu`):
 * parsed once into requirements, then matched against a cluster's labels. Pure.
 */

export type Requirement =
  | { key: string; op: 'eq' | 'neq'; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | 'notexists' };

export type Selector = Requirement[];

export class SelectorError extends Error {
  constructor(
    readonly selector: string,
    readonly position: number,
    readonly reason: string,
  ) {
    super(`invalid label selector "${selector}" at character ${position + 1}: ${reason}`);
    this.name = 'SelectorError';
  }
}

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** Parses a selector; the empty string selects everything. Throws `SelectorError` naming the position. */
export function parseSelector(text: string): Selector {
  const parts = splitRequirements(text);
  return parts.filter((p) => p.text.trim() !== '').map((p) => parseRequirement(text, p.text, p.start));
}

/** Splits on commas that are not inside `( )`. */
function splitRequirements(text: string): { text: string; start: number }[] {
  const parts: { text: string; start: number }[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push({ text: text.slice(start, i), start });
      start = i + 1;
    }
  }
  if (depth !== 0) throw new SelectorError(text, text.length - 1, 'unbalanced parentheses');
  parts.push({ text: text.slice(start), start });
  return parts;
}

function parseRequirement(whole: string, part: string, start: number): Requirement {
  const s = part.trim();
  const at = start + part.indexOf(s);
  const fail = (reason: string): never => {
    throw new SelectorError(whole, at, reason);
  };
  if (s.startsWith('!')) return { key: checkKey(s.slice(1).trim(), fail), op: 'notexists' };
  const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(s);
  if (set) {
    const values = set[3]!.split(',').map((v) => checkValue(v.trim(), fail));
    return { key: checkKey(set[1]!, fail), op: set[2] as 'in' | 'notin', values };
  }
  const eq = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(s);
  if (eq) {
    const op = eq[2] === '!=' ? 'neq' : 'eq';
    return { key: checkKey(eq[1]!, fail), op, value: checkValue(eq[3]!.trim(), fail) };
  }
  if (/\s/.test(s))
    fail(`expected "key=value", "key!=value", "key in (...)", "key notin (...)", "key" or "!key"`);
  return { key: checkKey(s, fail), op: 'exists' };
}

function checkKey(key: string, fail: (reason: string) => never): string {
  if (key.length > 317 || !NAME.test(key)) fail(`"${key}" is not a valid label key`);
  return key;
}

function checkValue(value: string, fail: (reason: string) => never): string {
  if (value.length > 63 || !VALUE.test(value)) fail(`"${value}" is not a valid label value`);
  return value;
}

/** True when every requirement holds for these labels. */
export function matchesSelector(selector: Selector, labels: Record<string, string>): boolean {
  return selector.every((r) => matchesRequirement(r, labels));
}

function matchesRequirement(r: Requirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = labels[r.key];
  switch (r.op) {
    case 'exists':
      return has;
    case 'notexists':
      return !has;
    case 'eq':
      return has && value === r.value;
    case 'neq':
      return !has || value !== r.value;
    case 'in':
      return has && r.values.includes(value!);
    case 'notin':
      return !has || !r.values.includes(value!);
  }
}
