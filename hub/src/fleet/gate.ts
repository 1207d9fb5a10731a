/**
 * The rollout gate: which clusters of which waves may apply a commit now. A pure function of the
 * stored rollout (rules, control actions, per-cluster observations, last-seen times) and the
 * time, so every hub replica answers the same and a restart loses nothing.
 *
 * Waves open in order. Wave 0 is always open. Wave k opens when wave k-1 passed — each of its
 * clusters healthy for the soak time, failed within the budget, or offline and skipped by policy,
 * with at least one soaked cluster; a wave the hub knows no cluster of never passes on its own —
 * or a release manager waived the clusters of wave k-1 that have not run the commit; and, when
 * the wave asks for it, once a release manager approved it. A failure over a wave's budget halts the
 * rollout; pause, abort, a newer commit and conflicting rules stop it too. A stopped rollout
 * releases nobody new; clusters already released keep their release.
 */
import {
  allowedFailures,
  type RolloutRules,
  UNLISTED_WAVE,
  type WavePolicy,
  waveAt,
  waveCount,
  waveOf,
} from '../../../contract/rollout-rules.js';
import type { RolloutObservation } from './rollout-observe.js';

/** The control state of a rollout, as stored. */
export interface RolloutControl {
  /** When the hub first heard of the commit (its rollout's start). */
  startedAt: number;
  pausedAt: number | null;
  abortedAt: number | null;
  /** Wave index → when it was approved. */
  approvals: Record<string, number>;
  /**
   * Wave index → when a release manager waived its clusters that have not run the commit (offline,
   * never reported): they no longer hold the wave, which passes on the evidence of the others.
   */
  waivers: Record<string, number>;
  /** A newer commit of the same source. */
  supersededBy: string | null;
  /** Two clusters reported different rules for this commit. */
  conflict: string | null;
}

/** What the gate knows of one cluster: labels, when it last reported, its rollout observation. */
export interface GateCluster {
  name: string;
  labels: Record<string, string>;
  /** The hub's receipt time of its latest report; null when it never reported. */
  lastSeenAt: number | null;
  observation: RolloutObservation;
}

/** Where one cluster stands in a staged rollout. */
export type ClusterGateState =
  | 'healthy'
  | 'soaking'
  | 'applying'
  | 'released'
  | 'waiting'
  | 'failed'
  | 'offline';

/** One cluster's standing in a staged rollout, whether it is released, and why. */
export interface ClusterGate {
  name: string;
  wave: number;
  state: ClusterGateState;
  released: boolean;
  reason: string;
  /** Soak time left for a healthy cluster, ms (0 once soaked). */
  soakLeftMs: number | null;
}

/** Where one wave stands: not started, waiting for approval, open, passed or failed. */
export type WaveState = 'pending' | 'awaiting-approval' | 'open' | 'passed' | 'failed';

/** One wave of a staged rollout: its state, failure budget, soak time left and clusters. */
export interface WaveGate {
  index: number;
  name: string;
  state: WaveState;
  /** Why it is not passed yet (or why it failed); empty when passed. */
  reason: string;
  size: number;
  failures: number;
  allowedFailures: number;
  /** Longest soak time left among its healthy clusters, ms. */
  soakLeftMs: number | null;
  policy: WavePolicy;
  clusters: ClusterGate[];
}

/** Where a staged rollout stands as a whole. */
export type RolloutGateState =
  | 'progressing'
  | 'complete'
  | 'paused'
  | 'aborted'
  | 'halted'
  | 'superseded'
  | 'conflict';

/** The gate's answer for a whole rollout: its state and every wave. */
export interface RolloutGate {
  state: RolloutGateState;
  reason: string;
  waves: WaveGate[];
}

interface Standing {
  cluster: GateCluster;
  state: ClusterGateState;
  reason: string;
  done: boolean;
  failed: boolean;
  /** Offline and not holding the wave back. */
  skipped: boolean;
  soakLeftMs: number | null;
  released: boolean;
}

/** PURE: which clusters may take the commit now, from the rules, the fleet and the clock. */
export function decideGate(
  rules: RolloutRules,
  control: RolloutControl,
  clusters: GateCluster[],
  now: number,
): RolloutGate {
  const count = waveCount(rules);
  const members: GateCluster[][] = Array.from({ length: count }, () => []);
  for (const c of [...clusters].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    members[waveOf(rules, c.labels)]!.push(c);
  }
  const stop = stopReason(control);
  // The last wave holds nobody back: with no cluster known in it, the rollout is complete.
  const lastIndex =
    members[count - 1]!.length === 0 && waveAt(rules, count - 1).name === UNLISTED_WAVE
      ? count - 2
      : count - 1;
  const waves: WaveGate[] = [];
  let open = true;
  let blocked = '';
  let halted = '';
  for (let index = 0; index < count; index++) {
    const wave = waveAt(rules, index);
    if (wave.name === UNLISTED_WAVE && members[index]!.length === 0) continue;
    const policy = wave.policy;
    let state: WaveState = open ? 'open' : 'pending';
    let reason = open ? '' : blocked;
    if (open && index > 0 && policy.approval && control.approvals[String(index)] === undefined) {
      state = 'awaiting-approval';
      reason = `wave ${index} (${wave.name}) waits for approval: strata rollout approve <commit> --wave ${wave.name}`;
    }
    const waived = control.waivers[String(index)] !== undefined;
    const standings = members[index]!.map((c) => standOne(c, index, policy, control, now));
    const size = standings.length;
    const failures = standings.filter((s) => s.failed).length;
    const allowed = allowedFailures(policy.failureBudget, size);
    // A wave that spent its budget releases nobody more, itself included; so does a stopped rollout,
    // wave 0 included (its agents that already applied keep the commit; the others hold).
    const releasing = state === 'open' && stop === null && halted === '' && failures <= allowed;
    release(standings, index, policy, releasing, state === 'open', control.startedAt, now);
    if (waived) for (const s of standings) waive(s);
    const soakLeft = standings.map((s) => s.soakLeftMs).filter((v): v is number => v !== null && v > 0);
    const gate: WaveGate = {
      index,
      name: wave.name,
      state,
      reason,
      size,
      failures,
      allowedFailures: allowed,
      soakLeftMs: soakLeft.length > 0 ? Math.max(...soakLeft) : null,
      policy,
      clusters: standings.map((s) => ({
        name: s.cluster.name,
        wave: index,
        state: s.state,
        released: s.released,
        reason: s.reason,
        soakLeftMs: s.soakLeftMs,
      })),
    };
    if (failures > allowed && halted === '') {
      gate.state = 'failed';
      const names = standings.filter((s) => s.failed).map((s) => s.cluster.name);
      gate.reason = `failure budget spent: ${failures} of ${size} failed (${names.slice(0, 5).join(', ')}), ${allowed} allowed`;
      halted = `halted in wave ${index} (${wave.name}): ${gate.reason}`;
    } else if (state === 'open') {
      const waiting = standings.filter((s) => !s.done && !s.failed && !s.skipped);
      const soaked = standings.some((s) => s.done);
      // No evidence is no pass: a wave the hub knows no cluster of, or whose clusters are all
      // offline, holds the rollout until they report or a release manager waives them.
      const nobodyAfter = size === 0 && index === lastIndex;
      if (waiting.length === 0 && (soaked || waived || nobodyAfter)) gate.state = 'passed';
      else gate.reason = whyNotPassed(wave.name, standings, waiting);
    }
    if (gate.state !== 'passed') {
      if (open) blocked = `wave ${index} (${wave.name}) has not passed: ${gate.reason}`;
      open = false;
    }
    waves.push(gate);
  }
  return summarise(waves, stop, halted);
}

/** Why an open wave has not passed: how many of its clusters reported on the commit, and who holds it. */
function whyNotPassed(name: string, standings: Standing[], waiting: Standing[]): string {
  const size = standings.length;
  const reported = standings.filter((s) => s.cluster.observation.appliedAt !== null).length;
  const count = `${reported} of ${size} cluster${size === 1 ? '' : 's'} reported on this commit`;
  const who =
    size === 0
      ? 'the hub knows no cluster of this wave (none has reported; list them in clusters.yaml)'
      : waiting.length > 0
        ? waiting
            .slice(0, 3)
            .map((s) => `${s.cluster.name} ${s.reason}`)
            .join('; ') + (waiting.length > 3 ? `; ${waiting.length - 3} more` : '')
        : 'no cluster of the wave soaked healthy (all offline)';
  const silent = standings.some((s) => s.state === 'offline' || s.cluster.lastSeenAt === null);
  const hint =
    size === 0 || silent ? `; to go on without them: strata rollout waive <commit> --wave ${name}` : '';
  return `${count}: ${who}${hint}`;
}

/** A waived wave: a cluster that has not run the commit no longer holds it. */
function waive(s: Standing): void {
  if (s.cluster.observation.appliedAt !== null || s.done || s.failed) return;
  s.skipped = true;
  s.reason = `${s.reason} (waived)`;
}

function stopReason(control: RolloutControl): { state: RolloutGateState; reason: string } | null {
  if (control.conflict) return { state: 'conflict', reason: control.conflict };
  if (control.abortedAt !== null) return { state: 'aborted', reason: 'aborted by a release manager' };
  if (control.supersededBy)
    return { state: 'superseded', reason: `superseded by commit ${control.supersededBy.slice(0, 12)}` };
  if (control.pausedAt !== null) return { state: 'paused', reason: 'paused by a release manager' };
  return null;
}

function summarise(
  waves: WaveGate[],
  stop: { state: RolloutGateState; reason: string } | null,
  halted: string,
): RolloutGate {
  if (halted && stop?.state !== 'conflict' && stop?.state !== 'aborted')
    return { state: 'halted', reason: halted, waves };
  if (stop) return { ...stop, waves };
  const pending = waves.find((w) => w.state !== 'passed');
  if (!pending) return { state: 'complete', reason: 'every wave passed', waves };
  return {
    state: 'progressing',
    reason: `wave ${pending.index} (${pending.name}): ${pending.reason}`,
    waves,
  };
}

/** Releases the wave's waiting clusters in name order, under maxConcurrent, while `releasing`. */
function release(
  standings: Standing[],
  index: number,
  policy: WavePolicy,
  releasing: boolean,
  opened: boolean,
  startedAt: number,
  now: number,
): void {
  const busy = (s: Standing) => s.state === 'applying' || s.state === 'released' || s.state === 'offline';
  let inFlight = standings.filter((s) => s.released && busy(s)).length;
  for (const s of standings) {
    if (s.released || s.failed || !releasing) {
      if (!s.released && s.state === 'waiting')
        s.reason = opened ? 'waits: the rollout is stopped' : 'waits for the earlier waves';
      continue;
    }
    // Wave 0 never waits for a slot or a link: its agents apply without the hub when they must.
    if (index === 0) s.released = true;
    else if (
      !isOffline(s.cluster, policy, startedAt, now) &&
      (policy.maxConcurrent === null || inFlight < policy.maxConcurrent)
    ) {
      s.released = true;
      inFlight++;
    }
    if (s.released && s.state === 'waiting') {
      s.state = 'released';
      s.reason =
        s.cluster.lastSeenAt === null
          ? 'released, has not reported to the hub yet'
          : 'released, not applied yet';
    } else if (!s.released && s.state === 'waiting') {
      s.reason = `waits for a slot (maxConcurrent ${policy.maxConcurrent})`;
    }
  }
}

/** Silent for longer than the grace; a cluster that never reported counts from the rollout's start. */
function isOffline(c: GateCluster, policy: WavePolicy, startedAt: number, now: number): boolean {
  return now - (c.lastSeenAt ?? startedAt) > policy.offlineGraceMs;
}

function standOne(
  c: GateCluster,
  index: number,
  policy: WavePolicy,
  control: RolloutControl,
  now: number,
): Standing {
  const o = c.observation;
  const released = o.appliedAt !== null || o.releasedAt !== null;
  const base = { cluster: c, released, done: false, failed: false, skipped: false, soakLeftMs: null };
  // Wave 0 starts with the rollout; later clusters when the hub released them (or they applied).
  const start = index === 0 ? control.startedAt : (o.releasedAt ?? o.appliedAt);
  if (o.failedAt !== null) return { ...base, state: 'failed', reason: 'failed on this commit', failed: true };
  const deadline = start !== null ? start + policy.progressDeadlineMs : null;
  const lateHealthy = o.firstHealthyAt !== null && deadline !== null && o.firstHealthyAt > deadline;
  const stillNot = o.firstHealthyAt === null && deadline !== null && released && now > deadline;
  if (lateHealthy || stillNot)
    return {
      ...base,
      state: 'failed',
      reason: `not healthy within the progress deadline (${Math.round(policy.progressDeadlineMs / 1000)}s)`,
      failed: true,
    };
  if (o.healthySince !== null) {
    const left = Math.max(0, o.healthySince + policy.soakMs - now);
    return left === 0
      ? { ...base, state: 'healthy', reason: 'healthy, soaked', done: true, soakLeftMs: 0 }
      : { ...base, state: 'soaking', reason: `soaking, ${Math.ceil(left / 1000)}s left`, soakLeftMs: left };
  }
  if (isOffline(c, policy, control.startedAt, now)) {
    const skip = policy.offline === 'skip';
    const what = c.lastSeenAt === null ? 'never reported' : 'offline';
    return {
      ...base,
      state: 'offline',
      reason: skip ? `${what} (skipped by policy)` : `${what} (blocks the wave by policy)`,
      skipped: skip,
    };
  }
  if (c.lastSeenAt === null && !released)
    return { ...base, state: 'waiting', reason: 'has not reported to the hub yet' };
  if (o.appliedAt !== null) return { ...base, state: 'applying', reason: 'applied, not healthy yet' };
  if (released) return { ...base, state: 'released', reason: 'released, not applied yet' };
  return { ...base, state: 'waiting', reason: 'not applied yet' };
}
