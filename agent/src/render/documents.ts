import { isNode, LineCounter, parseAllDocuments } from 'yaml';
import { RenderError } from './errors.js';

/** A path into a document's value: map keys and list indexes. */
export type ValuePath = readonly (string | number)[];

/** One YAML document of a file, parsed once, with a way back to the lines it was written on. */
export interface ParsedDocument {
  file: string;
  /** 0-based index of the document in its file. */
  index: number;
  /** The document as plain JSON-like data. Never mutated: renders copy it. */
  value: unknown;
  /** The 1-based line and column of the deepest node along `path` that exists. */
  locate(path: ValuePath): { line: number; column: number };
}

export interface ParsedFile {
  docs: ParsedDocument[];
  errors: RenderError[];
}

/** Aliases expand when converted to data; a small cap stops "billion laughs" documents. */
const MAX_ALIAS_COUNT = 100;

/** Splits a YAML file into its documents; every syntax error becomes a RenderError with its line. */
export function parseYamlFile(file: string, text: string): ParsedFile {
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter, uniqueKeys: true, logLevel: 'silent' });
  if (!Array.isArray(parsed)) return { docs: [], errors: [] };
  const docs: ParsedDocument[] = [];
  const errors: RenderError[] = [];
  parsed.forEach((doc, index) => {
    const at = (offset: number) => {
      const { line, col } = lineCounter.linePos(offset);
      return { line, column: col };
    };
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        errors.push(
          new RenderError({ code: 'yaml', file, doc: index, ...at(e.pos[0]), message: firstLine(e.message) }),
        );
      }
      return;
    }
    const root = doc.contents;
    // An empty document (a stray `---`) holds nothing and is not an error.
    if (root === null || (isNode(root) && 'value' in root && root.value === null && !root.tag)) return;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (e) {
      errors.push(
        new RenderError({
          code: 'yaml',
          file,
          doc: index,
          ...at(root.range?.[0] ?? 0),
          message: firstLine((e as Error).message),
        }),
      );
      return;
    }
    const locate = (path: ValuePath) => {
      for (let n = path.length; n > 0; n--) {
        const node = doc.getIn(path.slice(0, n), true);
        if (isNode(node) && node.range) return at(node.range[0]);
      }
      return at(root.range?.[0] ?? 0);
    };
    docs.push({ file, index, value, locate });
  });
  return { docs, errors };
}

/** The yaml package's message without the position and excerpt it appends: ours come as fields. */
function firstLine(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
}
