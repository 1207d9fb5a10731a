/** Where in the fleet repository something was written. */
export interface SourceLocation {
  /** Repository-relative path. */
  file: string;
  /** 0-based index of the YAML document in the file. */
  doc?: number;
  /** 1-based line and column, from the yaml package's positions. */
  line?: number;
  column?: number;
}

/** Which operation of a Patch document failed. */
export interface PatchOperation {
  /** `merge`, `jsonPatch[2]`, `images[0]`, `delete`, or `target`. */
  op: string;
  /** The JSON Pointer a jsonPatch operation addressed, when there is one. */
  path?: string;
}

/** What kind of problem stopped a render, for grouping and for the report's reason. */
export type RenderErrorCode =
  | 'config'
  | 'file'
  | 'yaml'
  | 'document'
  | 'duplicate'
  | 'selector'
  | 'variable'
  | 'patch'
  | 'target'
  | 'sops'
  | 'tool'
  /** A chart source (repository, registry) could not be reached: the agent says SourceUnavailable. */
  | 'source';

/** A render error's message and where it was written (file, document, line, object). */
export interface RenderErrorFields extends Partial<SourceLocation> {
  code: RenderErrorCode;
  message: string;
  /** Canonical object identity (`objectId()`), when the error concerns one object. */
  object?: string;
  patch?: PatchOperation;
  /** A second place involved, such as the first definition of a duplicate. */
  related?: SourceLocation;
}

/** A problem in the fleet repository that stops one cluster's render, with where it was written. */
export class RenderError extends Error {
  readonly code: RenderErrorCode;
  readonly file?: string;
  readonly doc?: number;
  readonly line?: number;
  readonly column?: number;
  readonly object?: string;
  readonly patch?: PatchOperation;
  readonly related?: SourceLocation;

  constructor(fields: RenderErrorFields) {
    super(fields.message);
    this.name = 'RenderError';
    this.code = fields.code;
    this.file = fields.file;
    this.doc = fields.doc;
    this.line = fields.line;
    this.column = fields.column;
    this.object = fields.object;
    this.patch = fields.patch;
    this.related = fields.related;
  }

  toJSON(): RenderErrorFields {
    const { code, message, file, doc, line, column, object, patch, related } = this;
    return dropUndefined({ code, message, file, doc, line, column, object, patch, related });
  }
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** `global/web.yaml:12:5 (doc 1)`: the one way a location is written for people. */
export function formatLocation(loc: Partial<SourceLocation>): string {
  if (!loc.file) return '';
  let text = loc.file;
  if (loc.line !== undefined) text += `:${loc.line}${loc.column !== undefined ? `:${loc.column}` : ''}`;
  if (loc.doc !== undefined) text += ` (doc ${loc.doc})`;
  return text;
}

/** The one formatter for render errors, used by every command that shows them. */
export function formatRenderError(error: RenderError): string {
  const parts: string[] = [];
  const where = formatLocation(error);
  if (where) parts.push(`${where}:`);
  if (error.object) parts.push(`${error.object}:`);
  if (error.patch) parts.push(`${error.patch.op}${error.patch.path ? ` ${error.patch.path}` : ''}:`);
  parts.push(error.message);
  if (error.related) parts.push(`(see ${formatLocation(error.related)})`);
  return parts.join(' ');
}
