/** How a sync behaves; every field has a default (DEFAULT_POLICY). */
export interface SyncPolicy {
  /** Server-side apply field manager. */
  fieldManager: string;
  /** Take over fields other managers own (server-side apply `force`). */
  force: boolean;
  /** `correct`: re-apply drifted objects; `report`: leave them and report the drift. */
  drift: 'correct' | 'report';
  /** Delete ApplySet members the render no longer holds. */
  prune: boolean;
  /** Largest share of the ApplySet one sync may prune (0–1). */
  pruneMaxFraction: number;
  /** Prune above pruneMaxFraction anyway. */
  allowLargePrune: boolean;
  /** Objects applied (or dry-run) at once. */
  concurrency: number;
  /** Dry-run every object, cache or not, every N-th sync (0: never). */
  fullVerifyEvery: number;
  /** Namespace for namespaced objects that name none. */
  defaultNamespace: string;
  crdTimeoutMs: number;
  waveTimeoutMs: number;
  deleteTimeoutMs: number;
  pollMs: number;
}

/** How a sync runs unless configured: correct drift, prune with the guard, the default timeouts. */
export const DEFAULT_POLICY: SyncPolicy = {
  fieldManager: 'strata',
  force: true,
  drift: 'correct',
  prune: true,
  pruneMaxFraction: 0.5,
  allowLargePrune: false,
  concurrency: 16,
  fullVerifyEvery: 10,
  defaultNamespace: 'default',
  crdTimeoutMs: 60_000,
  waveTimeoutMs: 300_000,
  deleteTimeoutMs: 120_000,
  pollMs: 1_000,
};

/** A full policy from a partial one, defaults filled in. */
export function resolvePolicy(partial: Partial<SyncPolicy> = {}): SyncPolicy {
  const policy = { ...DEFAULT_POLICY, ...partial };
  if (!(policy.pruneMaxFraction >= 0 && policy.pruneMaxFraction <= 1)) {
    throw new Error(`pruneMaxFraction must be between 0 and 1, got ${policy.pruneMaxFraction}`);
  }
  if (!Number.isInteger(policy.concurrency) || policy.concurrency < 1) {
    throw new Error(`concurrency must be a positive integer, got ${policy.concurrency}`);
  }
  return policy;
}
