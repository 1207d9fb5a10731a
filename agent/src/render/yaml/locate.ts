import { EVENT_ID, type Event, getScalarValue, SCALAR_STYLE } from 'js-yaml';
import { keyText, resolvePlain, scalarStart } from './scalars.js';

/** A path into a document's value: map keys and list indexes. */
export type ValuePath = readonly (string | number)[];

function startOf(text: string, event: Event): number {
  switch (event.type) {
    case EVENT_ID.MAPPING:
    case EVENT_ID.SEQUENCE:
      return event.start;
    case EVENT_ID.SCALAR:
      return scalarStart(text, event);
    case EVENT_ID.ALIAS:
      return event.anchorStart;
    default:
      return 0;
  }
}

/** Index just past the node that starts at `i`. */
function skip(events: Event[], i: number): number {
  const type = events[i]?.type;
  if (type !== EVENT_ID.MAPPING && type !== EVENT_ID.SEQUENCE) return i + 1;
  let depth = 0;
  for (let j = i; j < events.length; j++) {
    const t = events[j]!.type;
    if (t === EVENT_ID.MAPPING || t === EVENT_ID.SEQUENCE) depth++;
    else if (t === EVENT_ID.POP && --depth === 0) return j + 1;
  }
  return events.length;
}

function keyOf(text: string, event: Event): string | undefined {
  if (event.type !== EVENT_ID.SCALAR) return undefined;
  const value = getScalarValue(text, event);
  if (event.style !== SCALAR_STYLE.PLAIN || event.tagStart >= 0) return value;
  try {
    return keyText(resolvePlain(value));
  } catch {
    return undefined;
  }
}

/** The index of the child of the node at `i` named by `step`, or -1. */
function child(text: string, events: Event[], i: number, step: string | number): number {
  const node = events[i]!;
  let j = i + 1;
  if (node.type === EVENT_ID.SEQUENCE) {
    for (let n = 0; j < events.length && events[j]!.type !== EVENT_ID.POP; n++) {
      if (n === step) return j;
      j = skip(events, j);
    }
    return -1;
  }
  if (node.type !== EVENT_ID.MAPPING) return -1;
  let found = -1;
  while (j < events.length && events[j]!.type !== EVENT_ID.POP) {
    const key = keyOf(text, events[j]!);
    const value = skip(events, j);
    if (key === String(step)) found = value;
    j = skip(events, value);
  }
  return found;
}

/**
 * The offset of the deepest node along `path` in document `doc` of `events`: positions are
 * worked out from the event stream only when an error needs one.
 */
export function locateOffset(text: string, events: Event[], doc: number, path: ValuePath): number {
  let n = -1;
  let i = 0;
  for (; i < events.length; i++) {
    if (events[i]!.type === EVENT_ID.DOCUMENT && ++n === doc) break;
  }
  i++;
  if (i >= events.length) return 0;
  let keyAt = -1;
  for (const step of path) {
    const next = child(text, events, i, step);
    if (next < 0) break;
    keyAt = events[i]!.type === EVENT_ID.MAPPING ? next - 1 : -1;
    i = next;
  }
  const node = events[i]!;
  // An empty value (`name:`) has no text of its own: point at its key.
  const empty =
    node.type === EVENT_ID.SCALAR && node.valueStart < 0 && node.tagStart < 0 && node.anchorStart < 0;
  return empty && keyAt >= 0 ? startOf(text, events[keyAt]!) : startOf(text, node);
}
