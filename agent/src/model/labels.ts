/** Cluster labels written as one `KEY=VALUE,KEY=VALUE` list, as flags and environment variables take them. */

/** A malformed label list; the message names the pair at fault, for the caller to prefix with its flag or variable. */
export class LabelListError extends Error {
  constructor(
    readonly pair: string,
    message: string,
  ) {
    super(message);
    this.name = 'LabelListError';
  }
}

/**
 * `k=v,k2=v2` → labels, keys and values trimmed; an empty text gives no labels. A pair without a
 * key, or a key given twice, is an error rather than a guess at which value was meant.
 */
export function parseLabelList(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of text.split(',').filter((p) => p.trim() !== '')) {
    const eq = pair.indexOf('=');
    const key = pair.slice(0, eq).trim();
    if (eq <= 0 || key === '') throw new LabelListError(pair, `'${pair}' is not KEY=VALUE`);
    if (Object.hasOwn(labels, key)) throw new LabelListError(pair, `label '${key}' given twice`);
    labels[key] = pair.slice(eq + 1).trim();
  }
  return labels;
}
