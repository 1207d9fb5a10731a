/**
 * What an agent and the hub exchange about a rollout: the agent announces the rules of the commit
 * it fetched and asks whether that commit is released to it; the hub answers from its gate.
 * Untrusted at the hub, so every size is bounded.
 */
import { z } from 'zod';
import { Labels } from './report.js';

/** An inventory larger than this is not announced (the hub then knows the clusters that reported). */
export const MAX_ANNOUNCED_INVENTORY = 5000;

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const WavePolicyJson = z.strictObject({
  soakMs: count,
  progressDeadlineMs: count,
  failureBudget: z.union([
    z.strictObject({ count }),
    z.strictObject({ percent: z.number().int().min(0).max(100) }),
  ]),
  maxConcurrent: z.number().int().min(1).nullable(),
  approval: z.boolean(),
  offline: z.enum(['skip', 'block']),
  offlineGraceMs: count,
});

export const RolloutRulesJson = z.strictObject({
  defaults: WavePolicyJson,
  waves: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/),
        selector: z.string().max(4096).nullable(),
        policy: WavePolicyJson,
      }),
    )
    .min(1)
    .max(32),
  /** The commit's clusters.yaml, so a wave whose clusters never reported is known to have them. */
  inventory: z
    .array(z.strictObject({ name: z.string().min(1).max(253), labels: Labels }))
    .max(MAX_ANNOUNCED_INVENTORY)
    .optional(),
});

/** `POST /api/v1/rollouts/announce`: the commit an agent fetched, its source and its rules. */
export const RolloutAnnouncement = z.strictObject({
  commit: z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/),
  source: z.strictObject({
    url: z.string().max(2048),
    ref: z.string().max(1024),
    path: z.string().max(1024).optional(),
  }),
  /** The agent's cluster labels, for a cluster the hub has no report of yet. */
  labels: Labels.default({}),
  rules: RolloutRulesJson,
});
export type RolloutAnnouncement = z.infer<typeof RolloutAnnouncement>;

/** The hub's answer: may this cluster apply `commit` now? */
export interface ReleaseAnswer {
  commit: string;
  cluster: string;
  wave: number;
  waveName: string;
  released: boolean;
  /** The rollout's state (`progressing`, `halted`, `paused`, …). */
  state: string;
  /** Why the cluster waits, when it does. */
  reason: string;
}
