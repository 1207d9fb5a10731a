/**
 * Where a quoted scalar that is never closed begins, for the message of the parse error it causes.
 * The parser reads a quoted scalar across lines until its closing quote, so an unterminated one
 * fails lines later with an unrelated complaint ("deficient indentation" at the next key). This
 * looks back from the error for the nearest quote that opens a scalar (at a line's start, after
 * `- `, `: `, `? `, `[`, `{` or `,`) and has no closing quote up to the error, which lies on a later
 * line. Looked for only when parsing failed, and not for errors about escapes; `undefined` when
 * there is none.
 */
export function unterminatedQuoteBefore(
  text: string,
  errorOffset: number,
  maxLines = 200,
): number | undefined {
  let end = Math.min(errorOffset, text.length);
  for (let n = 0; n < maxLines && end >= 0; n++) {
    const start = text.lastIndexOf('\n', end - 1) + 1;
    const line = text.slice(start, end);
    if (/^(---|\.\.\.)(\s|$)/.test(line)) return undefined;
    const opening = [...line.matchAll(/(?:^|[\s[{,])(["'])/g)].reverse();
    for (const m of opening) {
      const at = start + m.index! + m[0].length - 1;
      if (inComment(line, at - start)) continue;
      if (!isScalarStart(line, at - start)) continue;
      if (closes(text, at, errorOffset)) return undefined;
      // Unclosed, the scalar runs on to the next line: an error on the quote's own line (a bad
      // escape) is the scalar's own.
      return text.indexOf('\n', at) >= 0 && text.indexOf('\n', at) < errorOffset ? at : undefined;
    }
    if (start === 0) return undefined;
    end = start - 1;
  }
  return undefined;
}

/** Whether `#` starts a comment before column `i` (outside quotes, after a space or at the start). */
function inComment(line: string, i: number): boolean {
  let quote: string | undefined;
  for (let j = 0; j < i; j++) {
    const c = line[j]!;
    if (quote) {
      if (c === quote && !(quote === '"' && line[j - 1] === '\\')) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (j === 0 || /\s/.test(line[j - 1]!))) return true;
  }
  return false;
}

/** A quote at `i` opens a scalar when what precedes it on the line is indentation, `- `, `key: `, `? ` or a flow indicator. */
function isScalarStart(line: string, i: number): boolean {
  const before = line.slice(0, i);
  return /^\s*((- +)*|.*:\s+|\?\s+)$/.test(before) || /[[{,]\s*$/.test(before);
}

/** Whether the quoted scalar opened at `at` closes before `limit`. */
function closes(text: string, at: number, limit: number): boolean {
  const quote = text[at];
  for (let i = at + 1; i < limit; i++) {
    const c = text[i];
    if (quote === '"' && c === '\\') i++;
    else if (c === quote) {
      if (quote === "'" && text[i + 1] === "'") i++;
      else return true;
    }
  }
  return false;
}
