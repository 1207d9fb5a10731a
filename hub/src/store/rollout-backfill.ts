/**
 * Fills `clusters.rollout` for rows stored before schema version 3 (NULL there), so their rollout
 * states are known without waiting for each cluster's next report. Runs on open, a chunk at a time;
 * a no-op once done.
 */
import { rolloutStates } from '../fleet/rollout.js';
import type { ReportSummary } from '../fleet/summary.js';
import type { RunQuery } from './fleet-reads.js';

/** Fills in the rollout states of clusters stored before they existed; answers how many it filled. */
export async function backfillRollout(run: RunQuery): Promise<number> {
  let filled = 0;
  for (;;) {
    const rows = await run<{ name: string; summary: string | null }>(
      'SELECT name, summary FROM clusters WHERE rollout IS NULL ORDER BY name LIMIT 1000',
      [],
    );
    if (rows.length === 0) return filled;
    for (const row of rows) {
      const states = row.summary === null ? [] : rolloutStates(JSON.parse(row.summary) as ReportSummary);
      await run('UPDATE clusters SET rollout = ? WHERE name = ? AND rollout IS NULL', [
        JSON.stringify(states),
        row.name,
      ]);
      filled++;
    }
  }
}
