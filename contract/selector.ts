/**
 * Kubernetes label selectors, the one implementation render (cluster-selector annotations, patch
 * targets) and the hub (`?selector=`) share: the string syntax (`env=prod,tier notin (edge)`) and the
 * object form. Pure.
 */

export type Operator = 'in' | 'notin' | 'exists' | 'notexists';

export interface Requirement {
  key: string;
  operator: Operator;
  values: string[];
}

/** A selector is a list of requirements that must all hold; the empty selector matches everything. */
export type LabelSelector = Requirement[];

/** A selector that does not parse; `position` is the 0-based offset of the bad requirement, when known. */
export class SelectorSyntaxError extends Error {
  constructor(
    message: string,
    readonly position?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'SelectorSyntaxError';
  }
}

const NAME = '[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?';
const DNS_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const KEY = new RegExp(`^(${DNS_LABEL}(\\.${DNS_LABEL})*/)?${NAME}$`);
const VALUE = new RegExp(`^(${NAME})?$`);

function checkKey(key: string): string {
  const name = key.slice(key.indexOf('/') + 1);
  if (!KEY.test(key) || name.length > 63 || key.length - name.length > 254) {
    throw new SelectorSyntaxError(`invalid label key '${key}'`);
  }
  return key;
}

function checkValue(value: string): string {
  if (!VALUE.test(value) || value.length > 63)
    throw new SelectorSyntaxError(`invalid label value '${value}'`);
  return value;
}

/** Splits on commas that are not inside a `( … )` value set. */
function splitTopLevel(text: string): { text: string; start: number }[] {
  const parts: { text: string; start: number }[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    if (depth < 0 || depth > 1) throw new SelectorSyntaxError(`unbalanced parentheses in '${text}'`, i);
    if (c === ',' && depth === 0) {
      parts.push({ text: text.slice(start, i), start });
      start = i + 1;
    }
  }
  if (depth !== 0) throw new SelectorSyntaxError(`unbalanced parentheses in '${text}'`, text.length - 1);
  parts.push({ text: text.slice(start), start });
  return parts;
}

const SET_FORM = /^(\S+)\s+(in|notin)\s*\(([^()]*)\)$/;
const EQUALITY_FORM = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/;

function parseRequirement(raw: string): Requirement {
  const text = raw.trim();
  if (text === '') throw new SelectorSyntaxError('empty requirement (stray comma?)');
  const set = SET_FORM.exec(text);
  if (set) {
    const values = set[3]!.split(',').map((v) => checkValue(v.trim()));
    if (values.length === 1 && values[0] === '' && set[3]!.trim() === '') {
      throw new SelectorSyntaxError(`'${text}' needs at least one value`);
    }
    return { key: checkKey(set[1]!), operator: set[2] as Operator, values: [...new Set(values)].sort() };
  }
  const eq = EQUALITY_FORM.exec(text);
  if (eq) {
    return { key: checkKey(eq[1]!), operator: eq[2] === '!=' ? 'notin' : 'in', values: [checkValue(eq[3]!)] };
  }
  if (text.startsWith('!')) return { key: checkKey(text.slice(1).trim()), operator: 'notexists', values: [] };
  if (/^\S+$/.test(text)) return { key: checkKey(text), operator: 'exists', values: [] };
  throw new SelectorSyntaxError(`cannot parse requirement '${text}'`);
}

/** Parses the string form, e.g. `env in (prod,staging),!edge,region!=cn-beijing`. */
export function parseSelector(text: string): LabelSelector {
  if (text.trim() === '') return [];
  return splitTopLevel(text).map(({ text: part, start }) => {
    try {
      return parseRequirement(part);
    } catch (e) {
      if (!(e instanceof SelectorSyntaxError)) throw e;
      throw new SelectorSyntaxError(e.message, start + part.length - part.trimStart().length, { cause: e });
    }
  });
}

interface SelectorObject {
  matchLabels?: Record<string, unknown>;
  matchExpressions?: { key?: unknown; operator?: unknown; values?: unknown }[];
}

const OBJECT_OPERATORS: Record<string, Operator> = {
  In: 'in',
  NotIn: 'notin',
  Exists: 'exists',
  DoesNotExist: 'notexists',
};

/** Parses the object form used by Kubernetes (`matchLabels`, `matchExpressions`). */
export function selectorFromObject(value: SelectorObject): LabelSelector {
  const requirements: Requirement[] = [];
  for (const [key, v] of Object.entries(value.matchLabels ?? {})) {
    if (typeof v !== 'string') throw new SelectorSyntaxError(`matchLabels.${key} must be a string`);
    requirements.push({ key: checkKey(key), operator: 'in', values: [checkValue(v)] });
  }
  if (value.matchExpressions !== undefined && !Array.isArray(value.matchExpressions)) {
    throw new SelectorSyntaxError('matchExpressions must be a list');
  }
  for (const expr of value.matchExpressions ?? []) {
    const operator = OBJECT_OPERATORS[String(expr?.operator)];
    if (!operator) throw new SelectorSyntaxError(`unknown operator '${String(expr?.operator)}'`);
    if (typeof expr.key !== 'string') throw new SelectorSyntaxError('matchExpressions key must be a string');
    const values = expr.values ?? [];
    if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) {
      throw new SelectorSyntaxError(`values of '${expr.key}' must be a list of strings`);
    }
    const needsValues = operator === 'in' || operator === 'notin';
    if (needsValues !== values.length > 0) {
      throw new SelectorSyntaxError(
        `operator ${String(expr.operator)} ${needsValues ? 'needs' : 'takes no'} values (key '${expr.key}')`,
      );
    }
    requirements.push({ key: checkKey(expr.key), operator, values: (values as string[]).map(checkValue) });
  }
  return requirements;
}

export function matchesSelector(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  return selector.every(({ key, operator, values }) => {
    const has = Object.hasOwn(labels, key);
    switch (operator) {
      case 'exists':
        return has;
      case 'notexists':
        return !has;
      case 'in':
        return has && values.includes(labels[key]!);
      default:
        return !has || !values.includes(labels[key]!);
    }
  });
}
