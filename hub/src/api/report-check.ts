/**
 * The hot path of report validation: a checker compiled once from the zod report schema
 * (contract/report.ts) into plain closures, so the hub does not run zod's interpreter for
 * every report.
 *
 * It checks the parsed JSON in place (no copy) and is conservative: it vouches only for input that
 * zod would accept unchanged but for defaults (what an agent sends), and answers `undefined` for
 * anything else — invalid input, unknown keys to strip, strings whose
 * length needs counting in code points — which then goes through zod itself. So zod stays the one
 * authority: it decides every rejection and writes every error message, and the test
 * (test/unit/hub/report-check.test.ts) checks that whatever this accepts, zod accepts with the
 * same output. A schema construct this compiler does not know makes it throw at start-up.
 */
import type { z } from 'zod';
import { type ParsedReport, parseReport, Report } from '../../../contract/report.js';

/** Defaults to fill in once the whole input passed: object, key, value. */
type Pending = [Record<string, unknown>, string, unknown][];

/** True when zod would accept `value` (after the defaults `pending` collects) unchanged. */
type Check = (value: unknown, pending: Pending) => boolean;

// biome-ignore lint/suspicious/noExplicitAny: zod's internal definitions are walked generically.
type Def = any;

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** Compiles one schema node; throws for constructs it cannot reproduce exactly. */
export function compileCheck(schema: z.ZodType, where = '(report)'): Check {
  const def = defOf(schema);
  switch (def.type) {
    case 'string':
      return compileString(def, where);
    case 'number':
      return compileNumber(def, where);
    case 'boolean':
      if (def.checks?.length) throw unsupported(where, 'boolean checks');
      return (v) => typeof v === 'boolean';
    case 'enum': {
      if (def.checks?.length) throw unsupported(where, 'enum checks');
      const values = new Set(Object.values(def.entries as Record<string, unknown>));
      return (v) => values.has(v);
    }
    case 'nullable': {
      const inner = compileCheck(def.innerType, where);
      return (v, pending) => v === null || inner(v, pending);
    }
    case 'array':
      return compileArray(def, where);
    case 'record':
      return compileRecord(def, where);
    case 'object':
      return compileObject(def, where);
    default:
      throw unsupported(where, def.type);
  }
}

function unsupported(where: string, what: string): Error {
  return new Error(`report fast check: schema node "${what}" at ${where} is not supported`);
}

function compileString(def: Def, where: string): Check {
  if (def.coerce) throw unsupported(where, 'coerced string');
  let min = 0;
  let max = Number.POSITIVE_INFINITY;
  const patterns: RegExp[] = [];
  // A string format (z.iso.datetime(), ...) carries its pattern on the schema itself.
  if (def.format !== undefined) {
    if (!(def.pattern instanceof RegExp)) throw unsupported(where, `string format ${def.format}`);
    patterns.push(def.pattern);
  }
  for (const check of def.checks ?? []) {
    const c = defOf(check);
    if (c.check === 'max_length') max = Math.min(max, c.maximum);
    else if (c.check === 'min_length') min = Math.max(min, c.minimum);
    else if (c.check === 'string_format' && c.pattern instanceof RegExp && !c.when) patterns.push(c.pattern);
    else throw unsupported(where, `string check ${c.check}/${c.format}`);
  }
  for (const p of patterns) if (p.global || p.sticky) throw unsupported(where, 'stateful regex');
  // Lengths: zod counts code points, one or two UTF-16 units each. Within [min * 2, max] units the
  // count is surely in range; anything else is left to zod.
  const floor = min * 2;
  return (v) => {
    if (typeof v !== 'string' || v.length > max || v.length < floor) return false;
    for (const p of patterns) if (!p.test(v)) return false;
    return true;
  };
}

function compileNumber(def: Def, where: string): Check {
  if (def.coerce) throw unsupported(where, 'coerced number');
  let integer = false;
  let low = Number.NEGATIVE_INFINITY;
  let high = Number.POSITIVE_INFINITY;
  for (const check of def.checks ?? []) {
    const c = defOf(check);
    if (c.check === 'number_format' && c.format === 'safeint') integer = true;
    else if (c.check === 'greater_than' && c.inclusive && typeof c.value === 'number')
      low = Math.max(low, c.value);
    else if (c.check === 'less_than' && c.inclusive && typeof c.value === 'number')
      high = Math.min(high, c.value);
    else throw unsupported(where, `number check ${c.check}/${c.format}/${c.inclusive}`);
  }
  return (v) =>
    typeof v === 'number' &&
    Number.isFinite(v) &&
    (!integer || Number.isSafeInteger(v)) &&
    v >= low &&
    v <= high;
}

function compileArray(def: Def, where: string): Check {
  let max = Number.POSITIVE_INFINITY;
  let min = 0;
  for (const check of def.checks ?? []) {
    const c = defOf(check);
    if (c.check === 'max_length') max = Math.min(max, c.maximum);
    else if (c.check === 'min_length') min = Math.max(min, c.minimum);
    else throw unsupported(where, `array check ${c.check}`);
  }
  const element = compileCheck(def.element, `${where}[]`);
  return (v, pending) => {
    if (!Array.isArray(v) || v.length > max || v.length < min) return false;
    for (let i = 0; i < v.length; i++) if (!element(v[i], pending)) return false;
    return true;
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function compileRecord(def: Def, where: string): Check {
  if (def.checks?.length) throw unsupported(where, 'record checks');
  if (defOf(def.keyType).type !== 'string' || defOf(def.keyType).format !== undefined)
    throw unsupported(where, 'record with non-string keys');
  const key = compileCheck(def.keyType, `${where}<key>`);
  const value = compileCheck(def.valueType, `${where}<value>`);
  return (v, pending) => {
    if (!isPlainObject(v)) return false;
    for (const k in v) if (k === '__proto__' || !key(k, pending) || !value(v[k], pending)) return false;
    return true;
  };
}

interface Field {
  key: string;
  check: Check;
  /** `required`, `optional` (absent stays absent) or `defaulted` (absent gets the default). */
  mode: 'required' | 'optional' | 'defaulted';
  makeDefault?: () => unknown;
}

function compileField(key: string, schema: z.ZodType, where: string): Field {
  const def = defOf(schema);
  const path = `${where}.${key}`;
  if (def.type === 'optional') {
    if (def.checks?.length) throw unsupported(path, 'optional checks');
    return { key, check: compileCheck(def.innerType, path), mode: 'optional' };
  }
  if (def.type === 'default') {
    if (def.checks?.length) throw unsupported(path, 'default checks');
    const sample = def.defaultValue;
    // Defaults this hub can rebuild fresh for every report: "" and [].
    if (sample === '')
      return { key, check: compileCheck(def.innerType, path), mode: 'defaulted', makeDefault: () => '' };
    if (Array.isArray(sample) && sample.length === 0)
      return { key, check: compileCheck(def.innerType, path), mode: 'defaulted', makeDefault: () => [] };
    throw unsupported(path, `default ${JSON.stringify(sample)}`);
  }
  return { key, check: compileCheck(schema, path), mode: 'required' };
}

function compileObject(def: Def, where: string): Check {
  if (def.checks?.length) throw unsupported(where, 'object checks');
  let loose = false;
  if (def.catchall !== undefined) {
    // looseObject: unknown keys pass through unchanged.
    if (defOf(def.catchall).type !== 'unknown') throw unsupported(where, 'object catchall');
    loose = true;
  }
  const fields = Object.entries(def.shape as Record<string, z.ZodType>).map(([k, s]) =>
    compileField(k, s, where),
  );
  const count = fields.length;
  return (v, pending) => {
    if (!isPlainObject(v)) return false;
    let present = 0;
    for (let i = 0; i < count; i++) {
      const f = fields[i]!;
      const raw = v[f.key];
      if (raw === undefined) {
        if (f.key in v || f.mode === 'required') return false;
        if (f.mode === 'defaulted') pending.push([v, f.key, f.makeDefault!()]);
        continue;
      }
      present++;
      if (!f.check(raw, pending)) return false;
    }
    if (loose) {
      // looseObject keeps unknown keys as they are (zod copies them, but never `__proto__`).
      return !Object.hasOwn(v, '__proto__');
    }
    // A strict-shape object: zod would strip unknown keys, so any make this a case for zod.
    let keys = 0;
    for (const _ in v) keys++;
    return keys === present;
  };
}

const checkReport = compileCheck(Report);

/** A parsed report, and when the caller gave the body text and it still holds, the report as JSON. */
export type FastParsedReport = ParsedReport & { json?: string };

/**
 * `parseReport` with a fast path: a report the compiled check vouches for is returned without
 * running zod; anything else is parsed (and its issues described) by zod. With the body `text` it
 * was parsed from, a vouched-for report also comes with `json`: that text, with any top-level
 * defaults appended, so storing it needs no JSON.stringify (the same value, in the agent's key order).
 */
export function parseReportFast(input: unknown, text?: string): FastParsedReport {
  const pending: Pending = [];
  if (!checkReport(input, pending)) return parseReport(input);
  let json = text;
  for (const [object, key, value] of pending) {
    object[key] = value;
    if (json === undefined) continue;
    const end = json.lastIndexOf('}');
    json =
      object === input ? `${json.slice(0, end)},${JSON.stringify(key)}:${JSON.stringify(value)}}` : undefined;
  }
  return json === undefined
    ? { ok: true, report: input as Report }
    : { ok: true, report: input as Report, json };
}

/** The compiled check alone: the report (defaults filled in), or undefined where zod has to decide. */
export function fastCheckReport(input: unknown): Report | undefined {
  const parsed = parseReportFast(input);
  return parsed.ok ? parsed.report : undefined;
}
