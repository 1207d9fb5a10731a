/**
 * The fleet views' queries, written once for both stores (`?` placeholders; the PostgreSQL store
 * numbers them): label selectors become lookups in `cluster_labels`, fleet-wide counts are read from
 * the counters the schema's triggers keep, and lists are keyset pages in name order, so no query reads
 * more of the fleet than one page or the clusters a selector matches.
 */
import type { LabelSelector, Requirement } from '../../../contract/selector.js';
import { ROLLOUT_STATES, type RolloutState } from '../fleet/rollout.js';
import {
  CLUSTER_PHASES,
  type ClusterHealth,
  type ClusterPhase,
  type ReportSummary,
} from '../fleet/summary.js';
import {
  AmbiguousCommitError,
  type FleetCounts,
  type FleetEntry,
  type FleetFilter,
  type Page,
  type PageRequest,
  type PreviewFleet,
  type RolloutCounts,
  type RolloutEntry,
} from './store.js';

/** Runs one query with `?` placeholders and answers its rows. */
export type RunQuery = <T>(sql: string, params: unknown[]) => Promise<T[]>;

interface Where {
  clauses: string[];
  params: unknown[];
}

const HEALTHS: readonly ClusterHealth[] = ['Healthy', 'Progressing', 'Degraded', 'Unknown'];
/** Above every character a cluster name or a hex sha can hold: `name < prefix || TOP` ends a prefix range. */
const TOP = '\u007f';

function requirementSql(r: Requirement, where: Where): void {
  const values = r.values.map(() => '?').join(', ');
  const labels =
    r.operator === 'in' || r.operator === 'notin'
      ? `SELECT cluster FROM cluster_labels WHERE key = ? AND value IN (${values})`
      : 'SELECT cluster FROM cluster_labels WHERE key = ?';
  const negated = r.operator === 'notin' || r.operator === 'notexists';
  where.clauses.push(`c.name ${negated ? 'NOT IN' : 'IN'} (${labels})`);
  where.params.push(r.key);
  if (r.operator === 'in' || r.operator === 'notin') where.params.push(...r.values);
}

function whereOf(filter: Partial<FleetFilter>, extra: { after?: string; usePhase?: boolean } = {}): Where {
  const where: Where = { clauses: [], params: [] };
  for (const r of filter.selector ?? []) requirementSql(r, where);
  if (filter.namePrefix) {
    where.clauses.push('c.name >= ? AND c.name < ?');
    where.params.push(filter.namePrefix, filter.namePrefix + TOP);
  }
  if (extra.usePhase && filter.phase) {
    where.clauses.push('c.phase = ?');
    where.params.push(filter.phase);
  }
  if (extra.after !== undefined) {
    where.clauses.push('c.name > ?');
    where.params.push(extra.after);
  }
  return where;
}

function sqlOf(where: Where): string {
  return where.clauses.length ? `WHERE ${where.clauses.join(' AND ')}` : '';
}

interface EntryRow {
  name: string;
  labels: string;
  seq: number | null;
  received_at: number | null;
  summary: string | null;
}

function toEntry(row: EntryRow): FleetEntry {
  return {
    name: row.name,
    labels: JSON.parse(row.labels) as Record<string, string>,
    seq: row.seq,
    receivedAt: row.received_at,
    summary: row.summary === null ? null : (JSON.parse(row.summary) as ReportSummary),
  };
}

function pageOf<R extends { name: string }, T>(rows: R[], limit: number, map: (row: R) => T): Page<T> {
  const more = rows.length > limit;
  const shown = more ? rows.slice(0, limit) : rows;
  return { items: shown.map(map), next: more ? shown.at(-1)!.name : null };
}

function zeros<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
}

interface CountRow {
  phase: ClusterPhase;
  health: ClusterHealth;
  commit_sha: string | null;
  reported: number | boolean;
  n: number;
  /** Of `n`, those last seen before the stale line (narrowed counts only). */
  stale?: number | string | null;
}

function isReported(row: CountRow): boolean {
  return row.reported === true || Number(row.reported) === 1;
}

/**
 * The selector's one requirement when `label_counts` can answer its counts: a single `in` or
 * `exists` (a cluster has one value per key, so the counts of several values add up).
 */
function countedRequirement(selector: LabelSelector): Requirement | undefined {
  const [only, ...rest] = selector;
  return only && rest.length === 0 && (only.operator === 'in' || only.operator === 'exists')
    ? only
    : undefined;
}

const ENTRY_COLUMNS = 'c.name, c.labels, c.seq, c.received_at, c.summary';

/** The fleet views' queries over any SQL store: give it the store's way to run a `?` query. */
export class FleetReads {
  constructor(private readonly run: RunQuery) {}

  async listFleet(filter: FleetFilter, page: PageRequest): Promise<Page<FleetEntry>> {
    const where = whereOf(filter, { after: page.after, usePhase: true });
    const rows = await this.run<EntryRow>(
      `SELECT ${ENTRY_COLUMNS} FROM clusters c ${sqlOf(where)} ORDER BY c.name LIMIT ?`,
      [...where.params, page.limit + 1],
    );
    return pageOf(rows, page.limit, toEntry);
  }

  async countFleet(filter: FleetFilter, staleBefore: number): Promise<FleetCounts> {
    const where = whereOf(filter);
    const one = filter.namePrefix ? undefined : countedRequirement(filter.selector);
    let rows: CountRow[];
    let stale: number;
    if (filter.selector.length === 0 && !filter.namePrefix) {
      // The counters answer in a few rows, whatever the fleet's size; staleness is an index range.
      rows = await this.run<CountRow>('SELECT phase, health, commit_sha, reported, n FROM fleet_counts', []);
      const reported = rows.reduce((sum, row) => sum + (isReported(row) ? Number(row.n) : 0), 0);
      stale = await this.staleFleetWide(reported, staleBefore);
    } else if (one) {
      // One label requirement (`k=v`, `k in (…)`, `k`): its counters, kept by triggers like fleet_counts.
      const values = one.operator === 'in' ? ` AND value IN (${one.values.map(() => '?').join(', ')})` : '';
      rows = await this.run<CountRow>(
        `SELECT phase, health, commit_sha, reported, sum(n) AS n FROM label_counts
         WHERE key = ?${values} GROUP BY 1, 2, 3, 4`,
        [one.key, ...one.values],
      );
      stale = await this.staleOf(one, rows, staleBefore);
    } else {
      // One pass over the matching clusters, counts and staleness together, read from the covering
      // index `clusters_state` alone (never the rows with their reports).
      rows = await this.run<CountRow>(
        `SELECT c.phase, c.health, coalesce(c.commit_sha, '') AS commit_sha, c.seq IS NOT NULL AS reported,
           count(*) AS n, sum(CASE WHEN c.received_at < ? THEN 1 ELSE 0 END) AS stale
         FROM clusters c ${sqlOf(where)} GROUP BY 1, 2, 3, 4`,
        [staleBefore, ...where.params],
      );
      stale = rows.reduce((sum, row) => sum + Number(row.stale ?? 0), 0);
    }
    const counts: FleetCounts = {
      total: 0,
      phases: zeros(CLUSTER_PHASES),
      health: zeros(HEALTHS),
      stale,
      notReported: 0,
      commits: [],
    };
    const commits = new Map<string, number>();
    for (const row of rows) {
      const n = Number(row.n);
      counts.total += n;
      counts.phases[row.phase] = (counts.phases[row.phase] ?? 0) + n;
      counts.health[row.health] = (counts.health[row.health] ?? 0) + n;
      if (!isReported(row)) counts.notReported += n;
      if (row.commit_sha) commits.set(row.commit_sha, (commits.get(row.commit_sha) ?? 0) + n);
    }
    counts.stale += counts.notReported;
    counts.commits = [...commits]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, 10)
      .map(([commit, clusters]) => ({ commit, clusters }));
    return counts;
  }

  private async count(sql: string, params: unknown[]): Promise<number> {
    const [row] = await this.run<{ n: number | string }>(sql, params);
    return Number(row?.n ?? 0);
  }

  /**
   * The reported clusters among a selector's matches last seen before `staleBefore`, read from
   * whichever side is smaller: the fleet's stale clusters (an index range, usually a few) each
   * checked against the labels, or the matches each checked for last-seen. The fleet's stale
   * clusters are counted only up to the number of matches, so choosing costs no more than either.
   */
  /**
   * The reported clusters last seen before `staleBefore`, counted on whichever side of the line is
   * smaller: bounded counts of the stale and the fresh index ranges in turn, the bound growing
   * eightfold, so a fleet that is all fresh (the usual) or all stale (after an outage) costs the
   * small side, not the fleet.
   */
  private async staleFleetWide(reported: number, staleBefore: number): Promise<number> {
    const bounded = (op: '<' | '>=', limit: number) =>
      this.count(
        `SELECT count(*) AS n FROM (SELECT 1 FROM clusters c WHERE c.received_at ${op} ? LIMIT ?) s`,
        [staleBefore, limit],
      );
    for (let limit = 1024; ; limit *= 8) {
      const stale = await bounded('<', limit);
      if (stale < limit) return stale;
      const fresh = await bounded('>=', limit);
      if (fresh < limit) return Math.max(0, reported - fresh);
    }
  }

  private async staleOf(one: Requirement, rows: CountRow[], staleBefore: number): Promise<number> {
    const matches = rows.reduce((sum, row) => sum + (isReported(row) ? Number(row.n) : 0), 0);
    if (matches === 0) return 0;
    const fleetStale = await this.count(
      'SELECT count(*) AS n FROM (SELECT 1 FROM clusters c WHERE c.received_at < ? LIMIT ?) s',
      [staleBefore, matches + 1],
    );
    if (fleetStale === 0) return 0;
    const values = one.operator === 'in' ? ` AND l.value IN (${one.values.map(() => '?').join(', ')})` : '';
    const labels = `SELECT l.cluster FROM cluster_labels l WHERE l.key = ?${values}`;
    if (fleetStale > matches)
      return this.count(
        `SELECT count(*) AS n FROM clusters c WHERE c.name IN (${labels}) AND c.received_at < ?`,
        [one.key, ...one.values, staleBefore],
      );
    return this.count(
      `SELECT count(*) AS n FROM clusters c WHERE c.received_at < ? AND EXISTS (${labels} AND l.cluster = c.name)`,
      [staleBefore, one.key, ...one.values],
    );
  }

  async previewFleet(ref: string, silentLimit: number): Promise<PreviewFleet> {
    const [counts, planned, silent] = [
      await this.run<{ n: number | string }>('SELECT sum(n) AS n FROM fleet_counts', []),
      await this.run<{ name: string; labels: string }>(
        'SELECT c.name, c.labels FROM clusters c WHERE c.name IN (SELECT p.cluster FROM previews p WHERE p.ref = ?)',
        [ref],
      ),
      // Name order with a probe per cluster: as deep as the first `silentLimit` clusters without a plan.
      await this.run<{ name: string; labels: string }>(
        `SELECT c.name, c.labels FROM clusters c
         WHERE NOT EXISTS (SELECT 1 FROM previews p WHERE p.cluster = c.name AND p.ref = ?) ORDER BY c.name LIMIT ?`,
        [ref, silentLimit],
      ),
    ];
    const labelsOf = (text: string) => JSON.parse(text) as Record<string, string>;
    return {
      total: Number(counts[0]?.n ?? 0),
      labels: Object.fromEntries(planned.map((row) => [row.name, labelsOf(row.labels)])),
      silent: silent.map((row) => ({ name: row.name, labels: labelsOf(row.labels) })),
    };
  }

  async rolloutCounts(sha: string, selector: LabelSelector): Promise<RolloutCounts> {
    const prefix = sha.toLowerCase();
    const found = await this.run<{ commit_sha: string }>(
      'SELECT DISTINCT commit_sha FROM rollout_counts WHERE commit_sha >= ? AND commit_sha < ? ORDER BY commit_sha LIMIT 3',
      [prefix, prefix + TOP],
    );
    if (found.length > 1)
      throw new AmbiguousCommitError(
        sha,
        found.map((f) => f.commit_sha),
      );
    const commit = found[0]?.commit_sha ?? null;
    const counts = zeros(ROLLOUT_STATES);
    if (selector.length === 0) {
      const fleet = await this.countFleet({ selector }, 0);
      const states = commit
        ? await this.run<{ state: RolloutState; n: number }>(
            'SELECT state, n FROM rollout_counts WHERE commit_sha = ?',
            [commit],
          )
        : [];
      for (const s of states) counts[s.state] += Number(s.n);
      counts.notReported = fleet.notReported;
      const onCommit = counts.healthy + counts.progressing + counts.failed;
      counts.behind = fleet.total - fleet.notReported - onCommit;
      return { commit, total: fleet.total, counts };
    }
    const where = whereOf({ selector });
    where.clauses.push('c.seq IS NOT NULL');
    const rows = await this.run<{ state: RolloutState; n: number }>(
      `SELECT coalesce(cc.state, 'behind') AS state, count(*) AS n FROM clusters c
       LEFT JOIN cluster_commits cc ON cc.commit_sha = ? AND cc.cluster = c.name
       ${sqlOf(where)} GROUP BY 1`,
      [commit ?? '', ...where.params],
    );
    let total = 0;
    for (const r of rows) {
      counts[r.state] += Number(r.n);
      total += Number(r.n);
    }
    return { commit, total, counts };
  }

  async listRollout(
    commit: string | null,
    filter: { selector: LabelSelector; state?: RolloutState },
    page: PageRequest,
  ): Promise<Page<RolloutEntry>> {
    const where = whereOf({ selector: filter.selector }, { after: page.after });
    if (filter.selector.length > 0) where.clauses.push('c.seq IS NOT NULL');
    const state = `CASE WHEN c.seq IS NULL THEN 'notReported' ELSE coalesce(cc.state, 'behind') END`;
    if (filter.state === 'notReported') where.clauses.push('c.seq IS NULL');
    else if (filter.state === 'behind') where.clauses.push('c.seq IS NOT NULL AND cc.state IS NULL');
    else if (filter.state) {
      where.clauses.push('cc.state = ?');
      where.params.push(filter.state);
    }
    const rows = await this.run<EntryRow & { state: RolloutState }>(
      `SELECT ${ENTRY_COLUMNS}, ${state} AS state FROM clusters c
       LEFT JOIN cluster_commits cc ON cc.commit_sha = ? AND cc.cluster = c.name
       ${sqlOf(where)} ORDER BY c.name LIMIT ?`,
      [commit ?? '', ...where.params, page.limit + 1],
    );
    return pageOf(rows, page.limit, (row) => ({ ...toEntry(row), state: row.state }));
  }
}
