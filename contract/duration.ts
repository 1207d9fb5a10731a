/** Durations as people write them in config: `500ms`, `30s`, `5m`, `1h`, `1h30m`. */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of a duration string, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(trimmed)) return undefined;
  let total = 0;
  for (const match of trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) {
    total += Number(match[1]) * (UNIT_MS[match[2] as string] ?? 0);
  }
  return Math.round(total);
}

/** `90000` → `1m30s`, for messages and logs. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, size] of [
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join('');
}

/**
 * A node-cron expression (with seconds) that fires every `ms`, when the interval divides a minute
 * or an hour evenly; otherwise undefined and the caller falls back to a plain timer.
 */
export function intervalToCron(ms: number): string | undefined {
  const s = ms / 1000;
  if (!Number.isInteger(s) || s < 1) return undefined;
  if (s < 60 && 60 % s === 0) return s === 1 ? '* * * * * *' : `*/${s} * * * * *`;
  const m = s / 60;
  if (Number.isInteger(m) && m < 60 && 60 % m === 0) return m === 1 ? '0 * * * * *' : `0 */${m} * * * *`;
  const h = m / 60;
  if (Number.isInteger(h) && h < 24 && 24 % h === 0) return h === 1 ? '0 0 * * * *' : `0 0 */${h} * * *`;
  return undefined;
}
