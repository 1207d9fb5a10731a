import {
  EVENT_ID,
  type Event,
  getScalarValue,
  type MappingEvent,
  SCALAR_STYLE,
  type ScalarEvent,
  type SequenceEvent,
} from 'js-yaml';
import { keyText, resolvePlain, resolveTagged, ScalarError, scalarStart, standardTag } from './scalars.js';

/** A problem in one document, at an offset into the file's text. */
export class ConstructError extends Error {
  constructor(
    readonly offset: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** One document's value and where its root node starts. */
export interface ConstructedDocument {
  value: unknown;
  /** Offset of the root node in the file's text. */
  offset: number;
  /** Set instead of `value` when the document could not be read. */
  error?: ConstructError;
}

type Json = unknown;
type JsonMap = Record<string, Json>;

interface MapFrame {
  kind: 'map';
  value: JsonMap;
  /** Keys written explicitly (not by a merge): writing one twice is refused. */
  explicit: Set<string>;
  key?: string;
  keyIsMerge: boolean;
  keyOffset: number;
  hasKey: boolean;
  size: number;
  anchor?: string;
  offset: number;
}
interface SeqFrame {
  kind: 'seq';
  value: Json[];
  size: number;
  anchor?: string;
  offset: number;
}
type Frame = MapFrame | SeqFrame;

interface Anchor {
  value: Json;
  /** Nodes in the value: what one alias of it costs to expand. */
  size: number;
  /** Still being read: an alias to it would contain itself. */
  open: boolean;
}

/**
 * go-yaml's limit on alias expansion (the one kubectl enforces): past 100 aliased nodes and 1,000
 * nodes in all, at most 99% of a document may come from aliases, falling to 10% at 4,000,000 nodes.
 * A "billion laughs" document fails at its first large alias, before anything is copied.
 */
function excessiveAliasing(aliased: number, total: number): boolean {
  if (aliased <= 100 || total <= 1000) return false;
  const low = 400_000;
  const high = 4_000_000;
  const allowed = total <= low ? 0.99 : total >= high ? 0.1 : 0.99 - (0.89 * (total - low)) / (high - low);
  return aliased / total > allowed;
}

function setOwn(target: JsonMap, key: string, value: Json): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else target[key] = value;
}

function copy(value: Json): Json {
  if (Array.isArray(value)) return value.map(copy);
  if (value !== null && typeof value === 'object') {
    const out: JsonMap = {};
    for (const key of Object.keys(value)) setOwn(out, key, copy((value as JsonMap)[key]));
    return out;
  }
  return value;
}

const isMap = (v: Json): v is JsonMap => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Reads the documents of an event stream into JSON values, as kubectl would decode them. */
export class DocumentBuilder {
  private readonly frames: Frame[] = [];
  private anchors = new Map<string, Anchor>();
  private total = 0;
  private aliased = 0;
  private root: { value: Json; size: number } | undefined;

  constructor(private readonly text: string) {}

  /** Builds every document; a failing document is reported and the next one read. */
  build(events: Event[]): ConstructedDocument[] {
    const docs: ConstructedDocument[] = [];
    let i = 0;
    while (i < events.length) {
      const event = events[i++]!;
      if (event.type !== EVENT_ID.DOCUMENT) continue;
      const offset = nodeOffset(events[i]);
      const end = documentEnd(events, i);
      try {
        docs.push({ value: this.document(events, i, end), offset });
      } catch (e) {
        if (!(e instanceof ConstructError)) throw e;
        docs.push({ value: undefined, offset, error: e });
      }
      i = end + 1;
    }
    return docs;
  }

  private document(events: Event[], from: number, to: number): Json {
    this.frames.length = 0;
    this.anchors = new Map();
    this.total = 0;
    this.aliased = 0;
    this.root = undefined;
    for (let i = from; i < to; i++) this.event(events[i]!);
    const root = this.root as { value: Json } | undefined;
    return root?.value;
  }

  private event(event: Event): void {
    switch (event.type) {
      case EVENT_ID.SCALAR:
        this.scalar(event);
        break;
      case EVENT_ID.MAPPING:
        this.open(event, 'map');
        break;
      case EVENT_ID.SEQUENCE:
        this.open(event, 'seq');
        break;
      case EVENT_ID.ALIAS:
        this.alias(event.anchorStart - 1, this.text.slice(event.anchorStart, event.anchorEnd));
        break;
      case EVENT_ID.POP:
        this.close();
        break;
    }
  }

  private anchorOf(event: ScalarEvent | MappingEvent | SequenceEvent): string | undefined {
    return event.anchorStart < 0 ? undefined : this.text.slice(event.anchorStart, event.anchorEnd);
  }

  private scalar(event: ScalarEvent): void {
    const text = getScalarValue(this.text, event);
    const offset = scalarStart(this.text, event);
    let value: Json;
    let isMerge = false;
    try {
      if (event.tagStart >= 0) {
        const tag = this.text.slice(event.tagStart, event.tagEnd);
        isMerge = standardTag(tag) === 'merge';
        value = isMerge ? '<<' : resolveTagged(tag, text);
      } else if (event.style === SCALAR_STYLE.PLAIN) {
        isMerge = text === '<<';
        value = resolvePlain(text);
      } else value = text;
    } catch (e) {
      if (e instanceof ScalarError) throw new ConstructError(offset, e.message, { cause: e });
      throw e;
    }
    const anchor = this.anchorOf(event);
    if (anchor !== undefined) this.anchors.set(anchor, { value, size: 1, open: false });
    this.add(value, 1, offset, isMerge);
  }

  private open(event: MappingEvent | SequenceEvent, kind: 'map' | 'seq'): void {
    const anchor = this.anchorOf(event);
    const offset = event.start;
    if (anchor !== undefined) this.anchors.set(anchor, { value: undefined, size: 0, open: true });
    if (kind === 'map') {
      this.frames.push({
        kind,
        value: {},
        explicit: new Set(),
        keyIsMerge: false,
        keyOffset: offset,
        hasKey: false,
        size: 1,
        anchor,
        offset,
      });
    } else this.frames.push({ kind, value: [], size: 1, anchor, offset });
  }

  private close(): void {
    const frame = this.frames.pop();
    if (!frame) return;
    if (frame.kind === 'map' && frame.hasKey)
      throw new ConstructError(frame.keyOffset, 'map key without a value');
    if (frame.anchor !== undefined) {
      const anchor = this.anchors.get(frame.anchor);
      if (anchor?.open) Object.assign(anchor, { value: frame.value, size: frame.size, open: false });
    }
    this.add(frame.value, frame.size, frame.offset, false);
  }

  private alias(offset: number, name: string): void {
    const anchor = this.anchors.get(name);
    if (!anchor) throw new ConstructError(offset, `unknown anchor '${name}' referenced`);
    if (anchor.open) throw new ConstructError(offset, `anchor '${name}' value contains itself`);
    this.aliased += anchor.size;
    this.total += anchor.size;
    if (excessiveAliasing(this.aliased, this.total)) {
      throw new ConstructError(offset, 'document contains excessive aliasing; refused');
    }
    // A copy, so that the document is a tree like any other: nothing downstream shares a node.
    this.add(copy(anchor.value), anchor.size, offset, false, true);
  }

  private add(value: Json, size: number, offset: number, isMerge: boolean, counted = false): void {
    if (!counted) this.total += 1;
    const frame = this.frames.at(-1);
    const isKey = frame?.kind === 'map' && !frame.hasKey;
    if (!isKey && typeof value === 'number' && !Number.isFinite(value)) {
      throw new ConstructError(offset, `${value} has no JSON value; write it quoted if it is text`);
    }
    if (!frame) {
      this.root = { value, size };
      return;
    }
    frame.size += size;
    if (frame.kind === 'seq') {
      frame.value.push(value);
      return;
    }
    if (!frame.hasKey) {
      if (isMap(value) || Array.isArray(value))
        throw new ConstructError(offset, 'a map key must be a scalar');
      try {
        frame.key = isMerge ? '<<' : keyText(value);
      } catch (e) {
        throw new ConstructError(offset, (e as Error).message, { cause: e });
      }
      frame.keyIsMerge = isMerge;
      frame.keyOffset = offset;
      frame.hasKey = true;
      return;
    }
    frame.hasKey = false;
    if (frame.keyIsMerge) {
      merge(frame, value, frame.keyOffset);
      return;
    }
    const key = frame.key!;
    if (frame.explicit.has(key)) throw new ConstructError(frame.keyOffset, `duplicate key '${key}'`);
    frame.explicit.add(key);
    setOwn(frame.value, key, value);
  }
}

/**
 * `<<: *base` and `<<: [*a, *b]` as go-yaml (and so kubectl) applies them: the merged keys are
 * written where the `<<` stands, over keys written before it; in a list, earlier maps win.
 */
function merge(frame: MapFrame, value: Json, offset: number): void {
  const sources = Array.isArray(value) ? [...value].reverse() : [value];
  for (const source of sources) {
    if (!isMap(source))
      throw new ConstructError(offset, 'map merge requires map or sequence of maps as the value');
    for (const key of Object.keys(source)) {
      setOwn(frame.value, key, source[key]);
      frame.explicit.delete(key);
    }
  }
}

function nodeOffset(event: Event | undefined): number {
  if (!event) return 0;
  if (event.type === EVENT_ID.MAPPING || event.type === EVENT_ID.SEQUENCE) return event.start;
  if (event.type === EVENT_ID.SCALAR) return Math.max(event.valueStart, 0);
  if (event.type === EVENT_ID.ALIAS) return event.anchorStart;
  return 0;
}

/** Index of the POP that closes the document whose first node is at `from`. */
function documentEnd(events: Event[], from: number): number {
  let depth = 0;
  for (let i = from; i < events.length; i++) {
    const type = events[i]!.type;
    if (type === EVENT_ID.MAPPING || type === EVENT_ID.SEQUENCE) depth++;
    else if (type === EVENT_ID.POP) {
      if (depth === 0) return i;
      depth--;
    }
  }
  return events.length;
}
