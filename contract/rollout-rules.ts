/**
 * Staged rollout rules, the `rollout:` section of strata.yaml: ordered waves of clusters chosen by
 * label selectors, each gated on the wave before it. Pure: parsing, defaults and wave assignment.
 * The rules travel with the commit, so a change to them is reviewed like any other change.
 */

import { parseDuration } from './duration.js';
import { matchesSelector, parseSelector, SelectorSyntaxError } from './selector.js';

/** How many clusters of a wave may fail before the rollout halts. */
export type FailureBudget = { count: number } | { percent: number };

/** What a cluster the hub has not heard from counts as, once `graceMs` has passed. */
export type OfflinePolicy = 'skip' | 'block';

export interface WavePolicy {
  /** Every cluster of the wave healthy on the commit for this long before the next wave starts. */
  soakMs: number;
  /** A released cluster not healthy on the commit within this long counts as failed. */
  progressDeadlineMs: number;
  failureBudget: FailureBudget;
  /** At most this many clusters of the wave applying at once (not yet healthy); null: all. */
  maxConcurrent: number | null;
  /** The wave starts only once a release manager approved it. */
  approval: boolean;
  offline: OfflinePolicy;
  /** Silence longer than this makes a cluster offline. */
  offlineGraceMs: number;
}

export interface Wave {
  name: string;
  /** Label selector text; null for "every cluster not in an earlier wave" (last wave only). */
  selector: string | null;
  policy: WavePolicy;
}

export interface RolloutRules {
  /** The policy of waves that set nothing themselves (and of the `unlisted` wave). */
  defaults: WavePolicy;
  waves: Wave[];
  /**
   * The commit's fleet inventory (`clusters.yaml`), when it has one: the announcing agent adds it,
   * so the hub expects those clusters in their waves before any of them has reported.
   */
  inventory?: InventoryCluster[];
}

/** One cluster of the fleet inventory, as the rollout's announcement carries it. */
export interface InventoryCluster {
  name: string;
  labels: Record<string, string>;
}

/**
 * Defaults, chosen for a fleet with clusters at the edge:
 * - soak 5m: long enough for a crash-looping Deployment to turn Degraded, short enough not to
 *   stall a normal release;
 * - progress deadline 15m: a released cluster that is not healthy by then counts as failed;
 * - failure budget 0: one failed cluster halts the rollout (a canary's whole point);
 * - offline `skip` after 1h: an edge fleet always has some cluster offline, and blocking on it
 *   would stall every rollout until it returns; a skipped cluster still applies the commit once it
 *   is back, since its wave is open. A wave whose clusters are all offline never passes, so a
 *   canary wave gives evidence or blocks.
 */
export const DEFAULT_WAVE_POLICY: WavePolicy = {
  soakMs: 5 * 60_000,
  progressDeadlineMs: 15 * 60_000,
  failureBudget: { count: 0 },
  maxConcurrent: null,
  approval: false,
  offline: 'skip',
  offlineGraceMs: 60 * 60_000,
};

/** The wave of clusters no wave selects (when the last wave has a selector). */
export const UNLISTED_WAVE = 'unlisted';

export interface RuleProblem {
  path: (string | number)[];
  message: string;
}

const POLICY_KEYS = [
  'soak',
  'progressDeadline',
  'failureBudget',
  'maxConcurrent',
  'approval',
  'offline',
  'offlineGrace',
];
const WAVE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const MAX_WAVES = 32;

const isMap = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** Parses the `rollout:` value; every problem carries the path of its field (for its line). */
export function parseRolloutRules(value: unknown): { rules?: RolloutRules; problems: RuleProblem[] } {
  const problems: RuleProblem[] = [];
  const fail = (path: (string | number)[], message: string) => problems.push({ path, message });
  if (!isMap(value)) {
    fail(['rollout'], 'rollout must be a map with a list of waves');
    return { problems };
  }
  for (const key of Object.keys(value)) {
    if (key !== 'waves' && !POLICY_KEYS.includes(key)) fail(['rollout', key], `unknown field '${key}'`);
  }
  const defaults = parsePolicy(value, DEFAULT_WAVE_POLICY, ['rollout'], fail);
  const waves = value.waves;
  if (!Array.isArray(waves) || waves.length === 0 || waves.length > MAX_WAVES) {
    fail(['rollout', 'waves'], `waves must be a list of 1 to ${MAX_WAVES} waves`);
    return { problems };
  }
  const parsed: Wave[] = [];
  const names = new Set<string>();
  waves.forEach((wave: unknown, i: number) => {
    const at = ['rollout', 'waves', i];
    if (!isMap(wave)) {
      fail(at, `waves[${i}] must be a map with a name`);
      return;
    }
    for (const key of Object.keys(wave)) {
      if (key !== 'name' && key !== 'selector' && !POLICY_KEYS.includes(key))
        fail([...at, key], `unknown field '${key}'`);
    }
    const name = wave.name;
    if (typeof name !== 'string' || !WAVE_NAME.test(name) || name === UNLISTED_WAVE) {
      fail([...at, 'name'], `waves[${i}].name must be a DNS label (not '${UNLISTED_WAVE}')`);
    } else if (names.has(name)) fail([...at, 'name'], `wave name '${name}' is used twice`);
    else names.add(name);
    let selector: string | null = null;
    if (wave.selector === undefined || wave.selector === null) {
      if (i !== waves.length - 1)
        fail([...at, 'selector'], `waves[${i}] needs a selector: only the last wave may be "the rest"`);
    } else if (typeof wave.selector !== 'string' || wave.selector.trim() === '') {
      fail([...at, 'selector'], 'selector must be a label selector such as "env=prod,tier!=edge"');
    } else {
      try {
        parseSelector(wave.selector);
        selector = wave.selector;
      } catch (e) {
        if (!(e instanceof SelectorSyntaxError)) throw e;
        fail([...at, 'selector'], `selector: ${e.message}`);
      }
    }
    const policy = parsePolicy(wave, defaults, at, fail);
    parsed.push({ name: String(name), selector, policy });
  });
  return problems.length > 0 ? { problems } : { rules: { defaults, waves: parsed }, problems };
}

function parsePolicy(
  value: Record<string, unknown>,
  base: WavePolicy,
  at: (string | number)[],
  fail: (path: (string | number)[], message: string) => void,
): WavePolicy {
  const policy = { ...base };
  const duration = (key: string, set: (ms: number) => void) => {
    const v = value[key];
    if (v === undefined) return;
    const ms = typeof v === 'string' ? parseDuration(v) : undefined;
    if (ms === undefined) fail([...at, key], `${key} must be a duration such as 30s, 10m or 1h`);
    else set(ms);
  };
  duration('soak', (ms) => {
    policy.soakMs = ms;
  });
  duration('progressDeadline', (ms) => {
    policy.progressDeadlineMs = ms;
  });
  duration('offlineGrace', (ms) => {
    policy.offlineGraceMs = ms;
  });
  const budget = value.failureBudget;
  if (budget !== undefined) {
    const percent = typeof budget === 'string' ? /^(\d{1,3})%$/.exec(budget.trim()) : null;
    if (typeof budget === 'number' && Number.isInteger(budget) && budget >= 0)
      policy.failureBudget = { count: budget };
    else if (percent && Number(percent[1]) <= 100) policy.failureBudget = { percent: Number(percent[1]) };
    else fail([...at, 'failureBudget'], 'failureBudget must be a count (0, 1, …) or a percent ("25%")');
  }
  const max = value.maxConcurrent;
  if (max !== undefined) {
    if (typeof max === 'number' && Number.isInteger(max) && max >= 1) policy.maxConcurrent = max;
    else fail([...at, 'maxConcurrent'], 'maxConcurrent must be an integer of at least 1');
  }
  const approval = value.approval;
  if (approval !== undefined) {
    if (approval === 'manual' || approval === true) policy.approval = true;
    else if (approval === 'none' || approval === false) policy.approval = false;
    else fail([...at, 'approval'], "approval must be 'manual' or 'none'");
  }
  const offline = value.offline;
  if (offline !== undefined) {
    if (offline === 'skip' || offline === 'block') policy.offline = offline;
    else fail([...at, 'offline'], "offline must be 'skip' (after offlineGrace) or 'block'");
  }
  return policy;
}

/** The index of the cluster's wave: the first whose selector matches; `waves.length` when none does. */
export function waveOf(rules: RolloutRules, labels: Readonly<Record<string, string>>): number {
  const i = rules.waves.findIndex(
    (w) => w.selector === null || matchesSelector(parseSelector(w.selector), labels),
  );
  return i === -1 ? rules.waves.length : i;
}

/** The wave at an index, the implicit `unlisted` one (default policy, after every wave) included. */
export function waveAt(rules: RolloutRules, index: number): Wave {
  return (
    rules.waves[index] ?? {
      name: UNLISTED_WAVE,
      selector: null,
      policy: rules.defaults,
    }
  );
}

/** How many waves a cluster can be in: the declared ones, plus `unlisted` when the last has a selector. */
export function waveCount(rules: RolloutRules): number {
  const last = rules.waves[rules.waves.length - 1];
  return last && last.selector === null ? rules.waves.length : rules.waves.length + 1;
}

/** A cluster's wave, for messages: `1 (prod)`. */
export function describeWave(
  rules: RolloutRules,
  cluster: { labels: Readonly<Record<string, string>> },
): string {
  const i = waveOf(rules, cluster.labels);
  return `${i} (${waveAt(rules, i).name})`;
}

/** Failures a wave of `size` clusters tolerates before the rollout halts. */
export function allowedFailures(budget: FailureBudget, size: number): number {
  return 'count' in budget ? budget.count : Math.floor((size * budget.percent) / 100);
}
