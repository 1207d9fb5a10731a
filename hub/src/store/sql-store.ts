/**
 * What the SQLite and the PostgreSQL store answer alike: the fleet views, through the one set of
 * queries of fleet-reads.ts, and rollout state, through each dialect's rollout tables. Each store adds
 * its own tokens, report writes, history, previews and leases.
 */
import type { LabelSelector } from '../../../contract/selector.js';
import type { RolloutState } from '../fleet/rollout.js';
import type { RolloutObservation } from '../fleet/rollout-observe.js';
import type { FleetReads } from './fleet-reads.js';
import type {
  FleetCounts,
  FleetEntry,
  FleetFilter,
  Page,
  PageRequest,
  PreviewFleet,
  RolloutAction,
  RolloutAnnouncement,
  RolloutCounts,
  RolloutEntry,
  RolloutEvent,
  RolloutRecord,
  Store,
} from './store.js';

/** A dialect's rollout tables (sqlite-rollouts.ts answers at once, postgres-rollouts.ts in a promise). */
export interface RolloutTables {
  announce(a: RolloutAnnouncement): RolloutRecord | Promise<RolloutRecord>;
  get(commit: string): RolloutRecord | undefined | Promise<RolloutRecord | undefined>;
  list(limit: number): RolloutRecord[] | Promise<RolloutRecord[]>;
  observations(commit: string): Map<string, RolloutObservation> | Promise<Map<string, RolloutObservation>>;
  markReleased(
    commit: string,
    cluster: string,
    at: number,
    opts: { record: boolean },
  ): boolean | Promise<boolean>;
  control(
    commit: string,
    action: RolloutAction,
    at: number,
    detail: { wave?: number; by?: string },
  ): RolloutRecord | undefined | Promise<RolloutRecord | undefined>;
  events(commit: string): RolloutEvent[] | Promise<RolloutEvent[]>;
}

/** The Store methods both SQL stores share; see store.ts for what each promises. */
export abstract class SqlStore
  implements
    Pick<
      Store,
      | 'listFleet'
      | 'countFleet'
      | 'previewFleet'
      | 'rolloutCounts'
      | 'listRollout'
      | 'announceRollout'
      | 'getRollout'
      | 'listRollouts'
      | 'rolloutObservations'
      | 'markReleased'
      | 'controlRollout'
      | 'rolloutEvents'
    >
{
  protected abstract readonly reads: FleetReads;
  protected abstract readonly rollouts: RolloutTables;

  async listFleet(filter: FleetFilter, page: PageRequest): Promise<Page<FleetEntry>> {
    return this.reads.listFleet(filter, page);
  }

  async previewFleet(ref: string, silentLimit: number): Promise<PreviewFleet> {
    return this.reads.previewFleet(ref, silentLimit);
  }

  async countFleet(filter: FleetFilter, staleBefore: number): Promise<FleetCounts> {
    return this.reads.countFleet(filter, staleBefore);
  }

  async rolloutCounts(sha: string, selector: LabelSelector): Promise<RolloutCounts> {
    return this.reads.rolloutCounts(sha, selector);
  }

  async listRollout(
    commit: string | null,
    filter: { selector: LabelSelector; state?: RolloutState },
    page: PageRequest,
  ): Promise<Page<RolloutEntry>> {
    return this.reads.listRollout(commit, filter, page);
  }

  async announceRollout(a: RolloutAnnouncement): Promise<RolloutRecord> {
    return this.rollouts.announce(a);
  }

  async getRollout(commit: string): Promise<RolloutRecord | undefined> {
    return this.rollouts.get(commit);
  }

  async listRollouts(limit: number): Promise<RolloutRecord[]> {
    return this.rollouts.list(limit);
  }

  async rolloutObservations(commit: string): Promise<Map<string, RolloutObservation>> {
    return this.rollouts.observations(commit);
  }

  async markReleased(
    commit: string,
    cluster: string,
    at: number,
    opts: { record: boolean },
  ): Promise<boolean> {
    return this.rollouts.markReleased(commit, cluster, at, opts);
  }

  async controlRollout(
    commit: string,
    action: RolloutAction,
    at: number,
    detail: { wave?: number; by?: string },
  ): Promise<RolloutRecord | undefined> {
    return this.rollouts.control(commit, action, at, detail);
  }

  async rolloutEvents(commit: string): Promise<RolloutEvent[]> {
    return this.rollouts.events(commit);
  }
}
