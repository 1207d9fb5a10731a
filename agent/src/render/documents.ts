import { type Event, parseEvents, YAMLException } from 'js-yaml';
import { RenderError } from './errors.js';
import { DocumentBuilder } from './yaml/construct.js';
import { LineTable } from './yaml/lines.js';
import { locateOffset, type ValuePath } from './yaml/locate.js';
import { readPlainBlockYaml } from './yaml/plain-block.js';
import { unterminatedQuoteBefore } from './yaml/quotes.js';

export type { ValuePath };

/** One YAML document of a file, parsed once, with a way back to the lines it was written on. */
export interface ParsedDocument {
  file: string;
  /** 0-based index of the document in its file. */
  index: number;
  /** The document as plain JSON-like data. Never mutated: renders copy it. */
  value: unknown;
  /** The 1-based line and column of the deepest node along `path` that exists. */
  locate(path: ValuePath): { line: number; column: number };
  /** For documents a tool produced: `kustomize from <dir>`, `helm from <chart>`. */
  builtBy?: string;
}

/** One YAML file's documents, each with its location for errors. */
export interface ParsedFile {
  docs: ParsedDocument[];
  errors: RenderError[];
}

/** Collections nested deeper than this are refused (hostile input; no manifest comes close). */
const MAX_DEPTH = 100;

/** How a file is read: `full` skips the fast reader (the differential test compares the two). */
export interface ReadOptions {
  reader?: 'auto' | 'full';
}

/**
 * Splits a YAML file into its documents, read as kubectl reads them (YAML 1.1 scalars, `<<` merge
 * keys, go-yaml's alias limit; see yaml/scalars.ts), and expands `kind: List` documents into their
 * items as `kubectl apply -f` does. Every problem becomes a RenderError with its line. Positions
 * inside a document are worked out only when asked for: parsing keeps no node positions.
 *
 * Plain block YAML (nearly every manifest) is read by a fast reader (yaml/plain-block.ts), which
 * gives up on anything it does not fully understand; the file is then read by js-yaml's events,
 * which also produce every error. Both give the same values.
 */
export function parseYamlFile(file: string, text: string, options: ReadOptions = {}): ParsedFile {
  const lines = new LineTable(text);
  // Positions are looked up in a fresh event stream: errors are rare, and keeping the parse's
  // events alive for them would hold every event of every file in memory.
  let located: Event[] | undefined;
  const locateIn = (doc: number, path: ValuePath) => {
    located ??= parseEvents(text, { maxDepth: MAX_DEPTH });
    return lines.at(locateOffset(text, located, doc, path));
  };
  const docs: ParsedDocument[] = [];
  const add = (index: number, value: unknown, offset: number) => {
    // An empty document (a stray `---`) holds nothing and is not an error.
    if (value === null || value === undefined) return;
    const root = lines.at(offset);
    const locate = (path: ValuePath) => (path.length === 0 ? root : locateIn(index, path));
    const items = listItems(value);
    if (!items) {
      docs.push({ file, index, value, locate });
      return;
    }
    items.forEach((item, i) => {
      const at = (path: ValuePath) => locateIn(index, ['items', i, ...path]);
      docs.push({ file, index, value: item, locate: at });
    });
  };
  const plain = options.reader === 'full' ? undefined : readPlainBlockYaml(text);
  if (plain) {
    for (const doc of plain) add(doc.index, doc.value, doc.offset);
    return { docs, errors: [] };
  }
  let events: Event[];
  try {
    events = parseEvents(text, { maxDepth: MAX_DEPTH });
  } catch (e) {
    if (!(e instanceof YAMLException) || !e.mark) throw e;
    const quote = /escape/.test(e.reason) ? undefined : unterminatedQuoteBefore(text, e.mark.position);
    const offset = quote ?? e.mark.position;
    const message =
      quote === undefined
        ? e.reason
        : `unterminated quoted string: the ${text[quote]} here is never closed (the parser then failed at line ${lines.at(e.mark.position).line}: ${e.reason})`;
    const error = new RenderError({
      code: 'yaml',
      file,
      doc: documentIndexAt(text, offset),
      ...lines.at(offset),
      message,
    });
    return { docs: [], errors: [error] };
  }
  const errors: RenderError[] = [];
  new DocumentBuilder(text).build(events).forEach((built, index) => {
    if (built.error) {
      errors.push(
        new RenderError({
          code: 'yaml',
          file,
          doc: index,
          ...lines.at(built.error.offset),
          message: built.error.message,
        }),
      );
      return;
    }
    add(index, built.value, built.offset);
  });
  return { docs, errors };
}

/**
 * The items of a `kind: List` (or `v1` `*List`) document, which kubectl applies one by one; other
 * documents are not lists.
 */
function listItems(value: unknown): unknown[] | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const { apiVersion, kind, items } = value as Record<string, unknown>;
  if (typeof kind !== 'string' || !Array.isArray(items)) return undefined;
  if (kind === 'List' || (apiVersion === 'v1' && kind.endsWith('List'))) return items;
  return undefined;
}

const MARKER = /^---(?:[ \t]|$)/;
const CONTENT = /^[ \t]*[^\s#%]/;

/** Which document of the file an offset falls in, counting `---` markers before it. */
function documentIndexAt(text: string, offset: number): number {
  let markers = 0;
  let contentBeforeMarker = false;
  for (const line of text.slice(0, offset).split('\n')) {
    if (MARKER.test(line)) markers++;
    else if (markers === 0 && CONTENT.test(line)) contentBeforeMarker = true;
  }
  return Math.max(0, contentBeforeMarker ? markers : markers - 1);
}
