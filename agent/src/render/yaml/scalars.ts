/**
 * Scalars read the way kubectl reads them. kubectl (sigs.k8s.io/yaml) decodes YAML with go-yaml v2,
 * a YAML 1.1 reader, then converts the result to JSON; the rules below are that reader's, so a
 * manifest that `kubectl apply -f` accepts renders to the same values: `0644` is 420, `yes`/`on`/`y`
 * are true, `1_000` is 1000, `~` is null, and a date stays a string.
 */

import { SCALAR_STYLE, type ScalarEvent } from 'js-yaml';

/**
 * Where a scalar is written: its opening quote or block indicator (`|`, `>`), as editors and the
 * previous parser showed it, rather than the first character of its text.
 */
export function scalarStart(text: string, event: ScalarEvent): number {
  const props = [event.tagStart, event.anchorStart].filter((o) => o >= 0);
  if (props.length > 0) return Math.min(...props) - (event.anchorStart === Math.min(...props) ? 1 : 0);
  if (event.valueStart < 0) return 0;
  if (event.style === SCALAR_STYLE.SINGLE_QUOTED || event.style === SCALAR_STYLE.DOUBLE_QUOTED) {
    return event.valueStart - 1;
  }
  if (event.style === SCALAR_STYLE.LITERAL_BLOCK || event.style === SCALAR_STYLE.FOLDED_BLOCK) {
    const indicator = Math.max(
      text.lastIndexOf(event.style === SCALAR_STYLE.LITERAL_BLOCK ? '|' : '>', event.valueStart - 1),
      0,
    );
    return indicator;
  }
  return event.valueStart;
}

/** A scalar that has no JSON value (NaN, ±Infinity): kubectl's JSON encoding refuses it too. */
export class ScalarError extends Error {}

const BOOLS_AND_NULLS = new Map<string, unknown>([
  ...['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON'].map((s) => [s, true] as const),
  ...['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF'].map(
    (s) => [s, false] as const,
  ),
  ...['', '~', 'null', 'Null', 'NULL'].map((s) => [s, null] as const),
  ...['.nan', '.NaN', '.NAN'].map((s) => [s, Number.NaN] as const),
  ...['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF'].map((s) => [s, Number.POSITIVE_INFINITY] as const),
  ...['-.inf', '-.Inf', '-.INF'].map((s) => [s, Number.NEGATIVE_INFINITY] as const),
]);

/** First characters for which a plain scalar may be something else than a string (go-yaml's hint table). */
const MAY_RESOLVE = /^[-+0-9yYnNtTfFoO~.]/;
const DIGIT_OR_SIGN = /^[-+0-9]/;
/** Go's strconv.ParseInt with base 0, after go-yaml removed the underscores. */
const GO_INT = /^([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/;
/** go-yaml's float syntax (yamlStyleFloat). */
const YAML_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
/** Go's strconv.ParseFloat for text that starts with a dot. */
const DOT_FLOAT = /^\.[0-9]+([eE][-+]?[0-9]+)?$/;
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

function goInt(text: string): number | undefined {
  const m = GO_INT.exec(text);
  if (!m) return undefined;
  const [, sign, digits] = m as unknown as [string, string, string];
  let big: bigint;
  const prefix = digits.slice(0, 2).toLowerCase();
  if (prefix === '0x' || prefix === '0b') big = BigInt(digits.toLowerCase());
  else if (prefix === '0o') big = BigInt(`0o${digits.slice(2)}`);
  else if (digits.length > 1 && digits[0] === '0') big = BigInt(`0o${digits.slice(1)}`);
  else big = BigInt(digits);
  if (sign === '-') big = -big;
  // int64, or (unsigned, without a sign) uint64; beyond, go-yaml tries a float next.
  if (big < INT64_MIN || big > UINT64_MAX || (big >= 2n ** 63n && sign !== '')) return undefined;
  return Number(big);
}

/** The value of a plain (unquoted, untagged) scalar. */
export function resolvePlain(text: string): unknown {
  if (!MAY_RESOLVE.test(text) && text !== '') return text;
  const known = BOOLS_AND_NULLS.get(text);
  if (known !== undefined || BOOLS_AND_NULLS.has(text)) return known;
  if (text[0] === '.') return DOT_FLOAT.test(text) ? Number(text) : text;
  if (!DIGIT_OR_SIGN.test(text)) return text;
  const plain = text.includes('_') ? text.replaceAll('_', '') : text;
  const int = goInt(plain);
  if (int !== undefined) return int;
  if (YAML_FLOAT.test(plain)) {
    const float = Number(plain);
    if (Number.isFinite(float)) return float;
  }
  return text;
}

const TAG_PREFIX = 'tag:yaml.org,2002:';

/** The standard tag a tag's text names (`!!int`, `!<tag:yaml.org,2002:int>`), or undefined. */
export function standardTag(raw: string): string | undefined {
  if (raw.startsWith('!!')) return raw.slice(2);
  if (raw.startsWith(`!<${TAG_PREFIX}`) && raw.endsWith('>')) return raw.slice(TAG_PREFIX.length + 2, -1);
  return undefined;
}

const kindOf = (value: unknown) =>
  value === null
    ? 'null'
    : typeof value === 'boolean'
      ? 'bool'
      : typeof value === 'number'
        ? Number.isInteger(value)
          ? 'int'
          : 'float'
        : 'str';

/**
 * The value of a scalar with an explicit tag. As in go-yaml, `!!str` keeps the text, the other
 * standard scalar tags must agree with what the text resolves to (an int is accepted as a float),
 * `!!binary` decodes base64, and any other tag (`!custom`) leaves the text a string.
 */
export function resolveTagged(raw: string, text: string): unknown {
  const tag = standardTag(raw);
  if (tag === undefined || tag === 'str' || tag === 'timestamp') return text;
  if (tag === 'binary') {
    if (!/^[A-Za-z0-9+/=\s]*$/.test(text)) throw new ScalarError(`cannot decode '${text}' as !!binary`);
    return Buffer.from(text.replace(/\s+/g, ''), 'base64').toString('utf8');
  }
  if (!['int', 'float', 'bool', 'null'].includes(tag)) return text;
  const value = resolvePlain(text);
  const got = kindOf(value);
  const fits = got === tag || (tag === 'float' && got === 'int');
  if (!fits) throw new ScalarError(`cannot decode !!${got} '${text}' as a !!${tag}`);
  return value;
}

/** Go's strconv.FormatFloat(f, 'g', -1, 32): how kubectl writes a float map key. */
function float32Text(value: number): string {
  const single = Math.fround(value);
  let digits = single.toPrecision(9);
  for (let p = 1; p <= 9; p++) {
    const candidate = single.toPrecision(p);
    if (Math.fround(Number(candidate)) === single) {
      digits = candidate;
      break;
    }
  }
  const [mantissa, exponent] = Number(digits).toExponential().split('e') as [string, string];
  const exp = Number(exponent);
  if (exp < -4 || exp >= 6) {
    const e = Math.abs(exp);
    return `${mantissa}e${exp < 0 ? '-' : '+'}${e < 10 ? `0${e}` : e}`;
  }
  return String(Number(digits));
}

/**
 * The JSON key kubectl makes of a map key: strings as they are, ints in decimal, booleans as
 * `true`/`false`, floats as Go prints them; anything else (null, a map, a list) is refused.
 */
export function keyText(key: unknown): string {
  if (typeof key === 'string') return key;
  if (typeof key === 'boolean') return key ? 'true' : 'false';
  if (typeof key === 'number') {
    if (Number.isInteger(key)) return String(key);
    if (Number.isNaN(key)) return '.nan';
    if (!Number.isFinite(key)) return key > 0 ? '.inf' : '-.inf';
    return float32Text(key);
  }
  throw new ScalarError(
    `a map key must be a string, number or boolean, not ${key === null ? 'null' : 'a collection'}`,
  );
}
