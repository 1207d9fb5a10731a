/** Whether a heartbeat moves a cluster's last-seen (contract/heartbeat.ts). Pure. */
import type { HeartbeatResult } from '../../../contract/heartbeat.js';

/**
 * The one rule both stores apply (PostgreSQL in its `strata_save_heartbeats`): a heartbeat counts only
 * for the full report it names, and only when no seq as high was seen, so a retry or a copy that
 * reached another replica changes nothing.
 */
export function heartbeatResult(
  current: number | null,
  seen: number | null,
  h: { seq: number; of: number },
): HeartbeatResult {
  if (current === null || current < h.of) return 'full-report-needed';
  if (current > h.of) return 'stale';
  return Math.max(current, seen ?? 0) >= h.seq ? 'duplicate' : 'alive';
}
