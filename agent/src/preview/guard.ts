/**
 * What a live preview may tell a pull request's author (pure). A PR is written by anyone who can
 * open one, and its plan is dry-run with the agent's rights, so the plan must not become a way to
 * read the cluster: an object outside the source's ApplySet is reported only as "would create" or
 * "would take over", never with the live values the diff against it would show (its fields, other
 * managers, its API errors). Objects of the ApplySet are Strata's own, rendered from the watched
 * branch: their entries keep the fields the PR changes.
 */
import type { Plan, PlanEntry } from '../plan/types.js';

/** The action of a PR object that exists in the cluster but not in the ApplySet. */
export const TAKEOVER = 'takeover';

/** The note on a preview entry that would create an object Strata does not manage. */
export const UNMANAGED_CREATE = 'would create an object not managed by Strata';
/** The note on a preview entry that would take over an object Strata does not manage. */
export const UNMANAGED_TAKEOVER =
  'would take over an object not managed by Strata (its live values are not shown to pull requests)';

/** Guarded entries: `action` may also be `takeover`; `note` says why values are missing. */
export type GuardedEntry = Omit<PlanEntry, 'action'> & {
  action: PlanEntry['action'] | typeof TAKEOVER;
  note?: string;
};

/** The plan with every entry outside `managed` (ApplySet member ids) reduced to what the PR already knew. */
export function guardPreviewPlan(
  plan: Plan,
  managed: ReadonlySet<string>,
): Omit<Plan, 'entries'> & { entries: GuardedEntry[] } {
  return { ...plan, entries: plan.entries.map((e) => (managed.has(e.id) ? e : unmanaged(e))) };
}

function unmanaged(entry: PlanEntry): GuardedEntry {
  const bare = { id: entry.id, ref: entry.ref, wave: entry.wave, changes: [] };
  if (entry.action === 'create') return { ...bare, action: 'create', note: UNMANAGED_CREATE };
  if (entry.action === 'error') {
    // API server messages quote live state (immutable fields, conflicts): keep the reason only.
    const reason = entry.error?.reason ?? 'Error';
    return {
      ...bare,
      action: 'error',
      error: {
        reason,
        message: `the dry-run failed (${reason}); details of objects not managed by Strata are not shown`,
      },
    };
  }
  if (entry.action === 'delete') return { ...bare, action: 'delete' };
  return { ...bare, action: TAKEOVER, note: UNMANAGED_TAKEOVER };
}
