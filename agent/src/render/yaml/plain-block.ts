/**
 * A fast reader for the YAML that nearly every manifest is written in: block maps and lists, plain
 * and quoted scalars (also over several lines), `|` and `>` blocks, comments, one-line flow lists
 * and maps of scalars. It gives the same values as the full reader (documents.ts: js-yaml's events
 * and construct.ts, with kubectl's YAML 1.1 scalars from scalars.ts) for everything it accepts, and
 * gives up (returns undefined) on anything else: anchors, aliases, tags, `<<`, directives, complex
 * keys, tabs, CR line ends, control characters, multi-line flow collections, explicit block
 * indentation, duplicate keys, non-finite numbers, any syntax error. The caller then reads the file
 * with the full reader, which also produces every error message, so errors and positions are
 * unchanged. A differential test holds the two readers equal over the repository's YAML and
 * generated cases.
 */

import { keyText, resolvePlain } from './scalars.js';

/** One document the fast reader understood: its value, where its root starts, its index in the file. */
export interface PlainDocument {
  value: unknown;
  offset: number;
  index: number;
}

/** Thrown (never escapes this file) when the text needs the full reader. */
const GIVE_UP = new Error('not plain block YAML');

/** Characters the fast reader leaves to the full reader wherever they appear. */
const UNSUPPORTED_CHARS =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this looks for
  /[\t\r\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F\u2028\u2029\uD800-\uDFFF\uFEFF\uFFFE\uFFFF]/;

/** First characters that make a scalar something other than a plain one (or need the full reader). */
const INDICATOR = new Set([...'-?:,[]{}#&*!|>\'"%@`']);

const MAX_DEPTH = 60;

/** YAML trims spaces (and tabs, which this reader never sees), not every Unicode space as trimEnd does. */
function trimSpacesEnd(text: string): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === SPACE) end--;
  return end === text.length ? text : text.slice(0, end);
}
const MAX_KEY = 1000;

const SPACE = 32;
const HASH = 35;
const COLON = 58;
const DASH = 45;

function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (Object.hasOwn(target, key)) throw GIVE_UP;
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else target[key] = value;
}

function plainValue(text: string): unknown {
  const value = resolvePlain(text);
  if (typeof value === 'number' && !Number.isFinite(value)) throw GIVE_UP;
  return value;
}

/** Keys repeat across a file (`name`, `type`, `description`): each is resolved once. */
const keys = new Map<string, string>();

function plainKey(text: string): string {
  const known = keys.get(text);
  if (known !== undefined) return known;
  if (text === '<<' || text.length > MAX_KEY) throw GIVE_UP;
  let key: string;
  try {
    key = keyText(resolvePlain(text));
  } catch {
    throw GIVE_UP;
  }
  if (keys.size < 10_000) keys.set(text, key);
  return key;
}

const ESCAPES: Record<string, string> = {
  '\\': '\\',
  '"': '"',
  '/': '/',
  n: '\n',
  t: '\t',
  r: '\r',
  '0': '\0',
  a: '\x07',
  b: '\b',
  e: '\x1b',
  f: '\f',
  v: '\v',
};

/** The text of a double-quoted segment with no line break in it. */
function unescapeDouble(raw: string): string {
  if (!raw.includes('\\')) return raw;
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = raw[++i];
    if (e === undefined) throw GIVE_UP;
    const simple = ESCAPES[e];
    if (simple !== undefined) {
      out += simple;
      continue;
    }
    const width = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    const hex = raw.slice(i + 1, i + 1 + width);
    if (width === 0 || !/^[0-9a-fA-F]+$/.test(hex) || hex.length !== width) throw GIVE_UP;
    const code = Number.parseInt(hex, 16);
    if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) throw GIVE_UP;
    out += String.fromCodePoint(code);
    i += width;
  }
  return out;
}

class Reader {
  /** Offset of each line's first character; the line's end is the next start minus one. */
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  /** The next line to read, and the last line (exclusive) of the current document. */
  private line = 0;
  private limit = 0;
  private depth = 0;

  constructor(private readonly text: string) {
    let start = 0;
    // The end of the text after a final line break is not a line.
    while (start < text.length) {
      const nl = text.indexOf('\n', start);
      this.starts.push(start);
      this.ends.push(nl < 0 ? text.length : nl);
      if (nl < 0) break;
      start = nl + 1;
    }
  }

  documents(): PlainDocument[] {
    const { text, starts } = this;
    const docs: PlainDocument[] = [];
    let from = 0;
    let index = 0;
    let sawMarker = false;
    for (let l = 0; l <= starts.length; l++) {
      const isMarker = l < starts.length && this.isMarker(l);
      if (l < starts.length && !isMarker) {
        const c = text.charCodeAt(starts[l]!);
        // `...`, directives and a `--- value` line are the full reader's.
        if (text.startsWith('...', starts[l]!) || c === 37) throw GIVE_UP;
        continue;
      }
      const doc = this.document(from, l);
      if (doc !== undefined || sawMarker)
        docs.push({ ...(doc ?? { value: null, offset: 0 }), index: index++ });
      sawMarker = true;
      from = l + 1;
    }
    return docs;
  }

  private isMarker(l: number): boolean {
    const s = this.starts[l]!;
    const e = this.ends[l]!;
    if (!this.text.startsWith('---', s)) return false;
    if (e === s + 3) return true;
    if (this.text.charCodeAt(s + 3) !== SPACE) return false;
    const rest = this.text.slice(this.skipSpaces(l, s + 3), e);
    if (rest === '' || rest[0] === '#') return true;
    throw GIVE_UP;
  }

  /** The document on lines [from, to): undefined when it holds nothing but blanks and comments. */
  private document(from: number, to: number): { value: unknown; offset: number } | undefined {
    this.line = from;
    this.limit = to;
    const l = this.peek();
    if (l < 0) return undefined;
    const indent = this.indent(l);
    const at = this.starts[l]! + indent;
    let value: unknown;
    const entry = this.isDash(at, l) ? undefined : this.key(l, at);
    if (this.isDash(at, l)) value = this.sequence(l, indent);
    else if (entry !== undefined) value = this.map(l, at, indent, entry);
    else throw GIVE_UP;
    if (this.peek() >= 0) throw GIVE_UP;
    return { value, offset: at };
  }

  /** The next line with content (not blank, not a comment) in the document, or -1. */
  private peek(): number {
    const { text, starts, ends } = this;
    for (let l = this.line; l < this.limit; l++) {
      let i = starts[l]!;
      const e = ends[l]!;
      while (i < e && text.charCodeAt(i) === SPACE) i++;
      if (i < e && text.charCodeAt(i) !== HASH) {
        this.line = l;
        return l;
      }
    }
    this.line = this.limit;
    return -1;
  }

  private indent(l: number): number {
    const { text } = this;
    const s = this.starts[l]!;
    const e = this.ends[l]!;
    let i = s;
    while (i < e && text.charCodeAt(i) === SPACE) i++;
    return i - s;
  }

  /** A `-` that starts a list item: followed by a space or the line's end. */
  private isDash(at: number, l: number): boolean {
    return (
      this.text.charCodeAt(at) === DASH &&
      (at + 1 === this.ends[l]! || this.text.charCodeAt(at + 1) === SPACE)
    );
  }

  /** Skips spaces; then the line must end, or a comment start (after at least one space). */
  private restIsBlank(l: number, at: number): boolean {
    const { text } = this;
    const e = this.ends[l]!;
    let i = at;
    while (i < e && text.charCodeAt(i) === SPACE) i++;
    if (i === e) return true;
    return text.charCodeAt(i) === HASH && i > at;
  }

  private enter(): void {
    if (++this.depth > MAX_DEPTH) throw GIVE_UP;
  }

  /**
   * The key of a map entry written at `at` on line `l`, and the offset just past its `:`; undefined
   * when the text there is not a map entry.
   */
  private key(l: number, at: number): { key: string; after: number } | undefined {
    const { text } = this;
    const e = this.ends[l]!;
    const c = text[at]!;
    if (c === '"' || c === "'") {
      const close = this.quotedOnLine(l, at);
      if (close === undefined) return undefined;
      let i = close.end;
      while (i < e && text.charCodeAt(i) === SPACE) i++;
      if (text.charCodeAt(i) !== COLON || (i + 1 < e && text.charCodeAt(i + 1) !== SPACE)) return undefined;
      return { key: close.value, after: i + 1 };
    }
    if (c === '?' || c === '&' || c === '*' || c === '!') throw GIVE_UP;
    if (INDICATOR.has(c)) return undefined;
    for (let i = text.indexOf(':', at); i >= 0 && i < e; i = text.indexOf(':', i + 1)) {
      if (i + 1 < e && text.charCodeAt(i + 1) !== SPACE) continue;
      const key = text.slice(at, i);
      if (key.includes(' #')) return undefined;
      return { key: plainKey(trimSpacesEnd(key)), after: i + 1 };
    }
    return undefined;
  }

  /** A quoted scalar that closes on its own line: its value and the offset past the closing quote. */
  private quotedOnLine(l: number, at: number): { value: string; end: number } | undefined {
    const close = this.closingQuote(at, this.ends[l]!);
    if (close < 0) return undefined;
    const raw = this.text.slice(at + 1, close);
    return { value: this.text[at] === "'" ? raw.replaceAll("''", "'") : unescapeDouble(raw), end: close + 1 };
  }

  /** The offset of the quote that closes the scalar opened at `at`, before `end`; -1 if none. */
  private closingQuote(at: number, end: number): number {
    return this.quoteIn(this.text.charCodeAt(at), at + 1, end);
  }

  /** The first unescaped `quote` in [from, end), -1 if none; an escaped line break gives up. */
  private quoteIn(quote: number, from: number, end: number): number {
    const { text } = this;
    for (let i = from; i < end; i++) {
      const c = text.charCodeAt(i);
      if (quote === 34 && c === 92) {
        if (i + 1 >= end) throw GIVE_UP;
        i++;
      } else if (c === quote) {
        if (quote === 39 && text.charCodeAt(i + 1) === 39) i++;
        else return i;
      }
    }
    return -1;
  }

  /** A block map whose first key is at `at` on line `l`, its keys at column `column`. */
  private map(
    l: number,
    at: number,
    column: number,
    first: { key: string; after: number },
  ): Record<string, unknown> {
    this.enter();
    const map: Record<string, unknown> = {};
    let line = l;
    let pos = at;
    let entry: { key: string; after: number } | undefined = first;
    for (;;) {
      entry ??= this.key(line, pos);
      if (entry === undefined) throw GIVE_UP;
      this.line = line + 1;
      const value = this.restIsBlank(line, entry.after)
        ? this.blockValue(column, true)
        : this.inline(line, this.skipSpaces(line, entry.after), column);
      setOwn(map, entry.key, value);
      entry = undefined;
      const next = this.peek();
      if (next < 0) break;
      const indent = this.indent(next);
      if (indent < column) break;
      if (indent > column) throw GIVE_UP;
      line = next;
      pos = this.starts[next]! + indent;
      // A list item here belongs to the map's parent (a list at the same column).
      if (this.isDash(pos, next)) break;
    }
    this.depth--;
    return map;
  }

  /** A block list whose items' dashes are at column `column`, the first on line `l`. */
  private sequence(l: number, column: number): unknown[] {
    this.enter();
    const list: unknown[] = [];
    let line = l;
    for (;;) {
      const dash = this.starts[line]! + column;
      const at = this.skipSpaces(line, dash + 1);
      this.line = line + 1;
      if (this.restIsBlank(line, dash + 1)) list.push(this.blockValue(column, false));
      else if (this.isDash(at, line)) throw GIVE_UP;
      else {
        const entry = this.key(line, at);
        if (entry !== undefined) list.push(this.map(line, at, at - this.starts[line]!, entry));
        else list.push(this.inline(line, at, column));
      }
      const next = this.peek();
      if (next < 0) break;
      const indent = this.indent(next);
      if (indent < column) break;
      if (indent > column) throw GIVE_UP;
      if (!this.isDash(this.starts[next]! + indent, next)) break;
      line = next;
    }
    this.depth--;
    return list;
  }

  private skipSpaces(l: number, at: number): number {
    const e = this.ends[l]!;
    let i = at;
    while (i < e && this.text.charCodeAt(i) === SPACE) i++;
    return i;
  }

  /**
   * A value written on the lines after its key or dash, more indented than `parent` (a list may
   * stand at the key's own column when `listAtParent`); null when there is none.
   */
  private blockValue(parent: number, listAtParent: boolean): unknown {
    const l = this.peek();
    if (l < 0) return null;
    const indent = this.indent(l);
    const at = this.starts[l]! + indent;
    if (indent < parent) return null;
    if (indent === parent) return listAtParent && this.isDash(at, l) ? this.sequence(l, indent) : null;
    if (this.isDash(at, l)) return this.sequence(l, indent);
    const entry = this.key(l, at);
    if (entry !== undefined) return this.map(l, at, indent, entry);
    const c = this.text[at];
    if (c === '|' || c === '>' || c === '[' || c === '{') throw GIVE_UP;
    this.line = l + 1;
    return this.inline(l, at, parent);
  }

  /**
   * A scalar or one-line flow collection starting at `at` on line `l`; lines it continues on must
   * be indented more than `parent`. Leaves `this.line` after its last line.
   */
  private inline(l: number, at: number, parent: number): unknown {
    const c = this.text[at]!;
    if (c === '"' || c === "'") return this.quoted(l, at, parent);
    if (c === '|' || c === '>') return this.block(l, at, parent);
    if (c === '[' || c === '{') return this.flow(l, at);
    if (INDICATOR.has(c) && !(c === '-' && !this.isDash(at, l))) throw GIVE_UP;
    return this.plain(l, at, parent);
  }

  /** The text of a plain scalar's line from `at`, up to a comment; refused if it holds `: `. */
  private plainLine(l: number, at: number): string {
    const e = this.ends[l]!;
    let text = this.text.slice(at, e);
    const comment = text.indexOf(' #');
    this.commented = comment >= 0;
    if (comment >= 0) text = text.slice(0, comment);
    text = trimSpacesEnd(text);
    if (text.includes(': ') || text.endsWith(':')) throw GIVE_UP;
    return text;
  }

  /** Whether the line plainLine read last ended in a comment. */
  private commented = false;

  private plain(l: number, at: number, parent: number): unknown {
    let text = this.plainLine(l, at);
    if (this.commented) return plainValue(text);
    // Continuation lines, folded: one line break is a space, n blank lines are n newlines.
    let blanks = 0;
    for (let next = l + 1; next < this.limit; next++) {
      const indent = this.indent(next);
      const s = this.starts[next]! + indent;
      if (s === this.ends[next]!) {
        blanks++;
        continue;
      }
      if (indent <= parent || this.text.charCodeAt(s) === HASH) break;
      if (INDICATOR.has(this.text[s]!)) throw GIVE_UP;
      text += (blanks === 0 ? ' ' : '\n'.repeat(blanks)) + this.plainLine(next, s);
      if (this.commented) throw GIVE_UP;
      blanks = 0;
      this.line = next + 1;
    }
    return plainValue(text);
  }

  /** A single- or double-quoted scalar, folded over lines as YAML folds them. */
  private quoted(l: number, at: number, parent: number): string {
    const { text } = this;
    const single = text[at] === "'";
    const decode = (raw: string) => (single ? raw.replaceAll("''", "'") : unescapeDouble(raw));
    let close = this.closingQuote(at, this.ends[l]!);
    if (close >= 0) {
      if (!this.restIsBlank(l, close + 1)) throw GIVE_UP;
      return decode(text.slice(at + 1, close));
    }
    let value = decode(trimSpacesEnd(text.slice(at + 1, this.ends[l]!)));
    let blanks = 0;
    for (let next = l + 1; next < this.limit; next++) {
      const indent = this.indent(next);
      const s = this.starts[next]! + indent;
      const e = this.ends[next]!;
      if (s === e) {
        blanks++;
        continue;
      }
      if (indent <= parent) throw GIVE_UP;
      const fold = blanks === 0 ? ' ' : '\n'.repeat(blanks);
      blanks = 0;
      close = this.quoteIn(single ? 39 : 34, s, e);
      if (close < 0) {
        value += fold + decode(trimSpacesEnd(text.slice(s, e)));
        continue;
      }
      if (!this.restIsBlank(next, close + 1)) throw GIVE_UP;
      this.line = next + 1;
      return value + fold + decode(text.slice(s, close));
    }
    throw GIVE_UP;
  }

  /** A `|` or `>` block scalar whose header is at `at` on line `l`. */
  private block(l: number, at: number, parent: number): string {
    const { text } = this;
    const literal = text[at] === '|';
    let i = at + 1;
    let chomp: 'clip' | 'strip' | 'keep' = 'clip';
    const c = text[i];
    if (c === '-' || c === '+') {
      chomp = c === '-' ? 'strip' : 'keep';
      i++;
    }
    const after = text.charCodeAt(i);
    // An explicit indentation, or anything but a comment after the header, is the full reader's.
    if (!this.restIsBlank(l, i) || (i < this.ends[l]! && after !== SPACE)) throw GIVE_UP;
    let indent = -1;
    let leadingSpaces = 0;
    const lines: string[] = [];
    let trailing = 0;
    let last = l;
    for (let next = l + 1; next < this.limit; next++) {
      const s = this.starts[next]!;
      const e = this.ends[next]!;
      const spaces = this.indent(next);
      if (s + spaces === e) {
        // A blank line; one with more spaces than the content's indentation has text of its own.
        if (indent < 0) leadingSpaces = Math.max(leadingSpaces, spaces);
        else if (spaces > indent) throw GIVE_UP;
        trailing++;
        continue;
      }
      if (indent < 0) {
        if (spaces <= parent || spaces < leadingSpaces) throw GIVE_UP;
        indent = spaces;
      } else if (spaces < indent) break;
      for (let k = 0; k < trailing; k++) lines.push('');
      trailing = 0;
      const content = text.slice(s + indent, e);
      if (!literal && content.charCodeAt(0) === SPACE) throw GIVE_UP;
      lines.push(content);
      last = next;
    }
    // An empty block, or one that ends the text without a line break, is the full reader's.
    if (indent < 0 || this.ends[last]! === text.length) throw GIVE_UP;
    this.line = last + 1;
    let body: string;
    if (literal) body = lines.join('\n');
    else {
      // Blank lines before the first line of text are newlines of their own; later ones fold.
      let first = 0;
      while (lines[first] === '') first++;
      body = '\n'.repeat(first) + lines[first]!;
      let empty = 0;
      for (let k = first + 1; k < lines.length; k++) {
        if (lines[k] === '') {
          empty++;
          continue;
        }
        body += empty === 0 ? ` ${lines[k]}` : `${'\n'.repeat(empty)}${lines[k]}`;
        empty = 0;
      }
    }
    if (chomp === 'strip') return body;
    if (chomp === 'clip') return `${body}\n`;
    return `${body}\n${'\n'.repeat(trailing)}`;
  }

  /** `[]`, `{}`, or a one-line flow list or map of scalars. */
  private flow(l: number, at: number): unknown {
    const { text } = this;
    const e = this.ends[l]!;
    const isList = text[at] === '[';
    const end = isList ? ']' : '}';
    const list: unknown[] = [];
    const map: Record<string, unknown> = {};
    let i = this.skipSpaces(l, at + 1);
    if (text[i] === end) i++;
    else {
      for (;;) {
        let key: string | undefined;
        if (!isList) {
          const k = this.flowScalar(l, i, true);
          if (text.charCodeAt(k.end) !== COLON || text.charCodeAt(k.end + 1) !== SPACE) throw GIVE_UP;
          key = k.quoted ? (k.value as string) : plainKey(k.value as string);
          i = this.skipSpaces(l, k.end + 1);
        }
        const v = this.flowScalar(l, i, false);
        const value = v.quoted ? v.value : plainValue(v.value as string);
        if (key === undefined) list.push(value);
        else setOwn(map, key, value);
        i = this.skipSpaces(l, v.end);
        if (text[i] === end) {
          i++;
          break;
        }
        if (text[i] !== ',') throw GIVE_UP;
        i = this.skipSpaces(l, i + 1);
        if (i >= e || text[i] === end) throw GIVE_UP;
      }
    }
    if (!this.restIsBlank(l, i)) throw GIVE_UP;
    this.line = l + 1;
    return isList ? list : map;
  }

  /** A scalar inside a one-line flow collection: quoted, or plain of the simplest kind. */
  private flowScalar(l: number, at: number, isKey: boolean): { value: string; quoted: boolean; end: number } {
    const { text } = this;
    const e = this.ends[l]!;
    const c = text[at];
    if (c === '"' || c === "'") {
      const q = this.quotedOnLine(l, at);
      if (q === undefined) throw GIVE_UP;
      return { value: q.value, quoted: true, end: this.skipSpaces(l, q.end) };
    }
    if (c === undefined || at >= e || INDICATOR.has(c)) throw GIVE_UP;
    let i = at;
    while (i < e) {
      const ch = text[i]!;
      if (ch === ',' || ch === ']' || ch === '}') break;
      if (ch === ':') {
        if (!isKey) throw GIVE_UP;
        break;
      }
      if (ch === '[' || ch === '{' || ch === '#') throw GIVE_UP;
      i++;
    }
    return { value: trimSpacesEnd(text.slice(at, i)), quoted: false, end: i };
  }
}

/**
 * The documents of `text` when it is plain block YAML this reader fully understands, each with its
 * value, the offset of its root node and its index; undefined when the full reader must read it.
 * Documents holding nothing are listed with a null value, as the full reader lists them.
 */
export function readPlainBlockYaml(text: string): PlainDocument[] | undefined {
  if (UNSUPPORTED_CHARS.test(text)) return undefined;
  try {
    return new Reader(text).documents();
  } catch (e) {
    if (e === GIVE_UP) return undefined;
    throw e;
  }
}
