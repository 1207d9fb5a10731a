/**
 * The heartbeat: what an agent sends instead of a full report when nothing but time moved since the
 * last full report the hub stored. It names that report by seq (`of`), so the hub can tell a
 * heartbeat that stands for its current state from one whose full report it never got (it then
 * answers 409 and the agent sends the full report). Untrusted input at the hub, like reports.
 */
import { z } from 'zod';
import { ClusterName } from './report.js';

export const HEARTBEATS_PATH = '/api/v1/heartbeats';

const seq = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const Heartbeat = z
  .object({
    cluster: ClusterName,
    /** This heartbeat's own seq, from the same counter as reports: it only moves last-seen forward. */
    seq,
    /** The seq of the full report whose content this heartbeat stands for. */
    of: seq,
    createdAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict()
  .refine((h) => h.seq > h.of, { message: 'seq must be greater than of', path: ['seq'] });
export type Heartbeat = z.infer<typeof Heartbeat>;

/**
 * The hub's answer, by `result`:
 * - `alive` (200): last-seen moved to now; the cluster's state is the full report `of`.
 * - `duplicate` (200): this seq (or a newer heartbeat) was already recorded; nothing changed.
 * - `stale` (200): a full report newer than `of` is already the cluster's state.
 * - `full-report-needed` (409): the hub's state is not report `of` (it never got it, or holds an
 *   older one); the agent sends the full report under the same seq.
 */
export type HeartbeatResult = 'alive' | 'duplicate' | 'stale' | 'full-report-needed';
