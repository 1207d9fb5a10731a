// The rollout gate over generated report histories: simulated fleets of agents that ask for their
// release, apply, turn healthy or fail at random times, fold their reports into observations the
// way the store does, and are checked against the gate's promises at every step.
import { describe, expect, it } from 'vitest';
import { parseRolloutRules, type RolloutRules, waveOf } from '../../../contract/rollout-rules.js';
import { decideGate, type GateCluster, type RolloutControl } from '../../../hub/src/fleet/gate.js';
import {
  type CommitStanding,
  EMPTY_OBSERVATION,
  observe,
  type RolloutObservation,
} from '../../../hub/src/fleet/rollout-observe.js';

function rulesOf(value: unknown): RolloutRules {
  const parsed = parseRolloutRules(value);
  if (!parsed.rules) throw new Error(JSON.stringify(parsed.problems));
  return parsed.rules;
}

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const control = (over: Partial<RolloutControl> = {}): RolloutControl => ({
  startedAt: 0,
  pausedAt: null,
  abortedAt: null,
  approvals: {},
  waivers: {},
  supersededBy: null,
  conflict: null,
  ...over,
});

interface SimCluster {
  name: string;
  labels: Record<string, string>;
  obs: RolloutObservation;
  lastSeenAt: number | null;
  /** Seconds after it applies until it turns healthy or fails. */
  settleAfter: number;
  fails: boolean;
  offline: boolean;
  appliedAt: number | null;
}

const STEP = 10_000;

interface Sim {
  clusters: SimCluster[];
  /** Time each cluster was first released (the agent learnt it may apply). */
  releasedAt: Map<string, number>;
  /** Per step: the gate and the observations it was computed from. */
  steps: { now: number; gate: ReturnType<typeof decideGate>; view: GateCluster[] }[];
}

/** Steps a fleet through a rollout: each step, agents ask, apply, report; the gate decides. */
function simulate(
  rules: RolloutRules,
  clusters: SimCluster[],
  ctl: (now: number) => RolloutControl,
  steps: number,
): Sim {
  const releasedAt = new Map<string, number>();
  const sim: Sim = { clusters, releasedAt, steps: [] };
  for (let i = 0; i <= steps; i++) {
    const now = i * STEP;
    const view = (): GateCluster[] =>
      clusters.map((c) => ({ name: c.name, labels: c.labels, lastSeenAt: c.lastSeenAt, observation: c.obs }));
    const gate = decideGate(rules, ctl(now), view(), now);
    sim.steps.push({ now, gate, view: view() });
    for (const c of clusters) {
      if (c.offline) continue;
      const decision = gate.waves.flatMap((w) => w.clusters).find((d) => d.name === c.name)!;
      if (decision.released && !releasedAt.has(c.name)) {
        releasedAt.set(c.name, now);
        if (decision.wave > 0) c.obs = { ...c.obs, releasedAt: now };
      }
      let standing: CommitStanding | null = null;
      if (releasedAt.has(c.name)) {
        c.appliedAt ??= now;
        const since = (now - c.appliedAt) / 1000;
        standing = since < c.settleAfter ? 'progressing' : c.fails ? 'failed' : 'healthy';
      }
      c.obs = observe(c.obs, standing, now);
      c.lastSeenAt = now;
    }
  }
  return sim;
}

function fleet(seed: number, n: number, failRate: number, offlineRate: number): SimCluster[] {
  const rnd = random(seed);
  const tiers = ['canary', 'prod', 'prod', 'rest'];
  return Array.from({ length: n }, (_, i) => ({
    name: `c${String(i).padStart(2, '0')}`,
    labels: { tier: tiers[Math.floor(rnd() * tiers.length)]! },
    obs: EMPTY_OBSERVATION,
    lastSeenAt: null,
    settleAfter: 5 + Math.floor(rnd() * 120),
    fails: rnd() < failRate,
    offline: rnd() < offlineRate,
    appliedAt: null,
  }));
}

const THREE_WAVES = {
  soak: '2m',
  progressDeadline: '10m',
  offlineGrace: '5m',
  waves: [
    { name: 'canary', selector: 'tier=canary' },
    { name: 'prod', selector: 'tier=prod', maxConcurrent: 2, failureBudget: '50%' },
    { name: 'rest' },
  ],
};

describe('rollout gate over generated report histories', () => {
  it('never releases a later wave before every earlier wave soaked, within budget and slots', {
    timeout: 180_000,
  }, () => {
    const rules = rulesOf(THREE_WAVES);
    let released = 0;
    let halted = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const sim = simulate(rules, fleet(seed, 9, 0.12, 0.1), () => control(), 200);
      for (const c of sim.clusters) {
        const at = sim.releasedAt.get(c.name);
        const wave = waveOf(rules, c.labels);
        if (at === undefined || wave === 0) continue;
        released++;
        const step = sim.steps.find((s) => s.now === at)!;
        // Every cluster of every earlier wave: soaked for 2m at that time, failed within budget, or offline.
        for (const earlier of step.gate.waves.filter((w) => w.index < wave)) {
          expect(earlier.state).toBe('passed');
          expect(earlier.failures).toBeLessThanOrEqual(earlier.allowedFailures);
          for (const d of earlier.clusters) {
            const obs = step.view.find((v) => v.name === d.name)!.observation;
            if (d.state === 'healthy') expect(at - obs.healthySince!).toBeGreaterThanOrEqual(120_000);
            else expect(['failed', 'offline']).toContain(d.state);
          }
        }
      }
      for (const s of sim.steps) {
        for (const w of s.gate.waves) {
          if (w.policy.maxConcurrent === null) continue;
          const busy = w.clusters.filter((d) => d.released && ['applying', 'released'].includes(d.state));
          expect(busy.length).toBeLessThanOrEqual(w.policy.maxConcurrent);
        }
      }
      if (sim.steps.at(-1)!.gate.state === 'halted') halted++;
    }
    // The generated histories exercise both outcomes, or the checks above prove little.
    expect(released).toBeGreaterThan(50);
    expect(halted).toBeGreaterThan(5);
  });

  it('halts on a failed canary and releases no later wave, ever', () => {
    const rules = rulesOf(THREE_WAVES);
    const clusters = fleet(7, 8, 0, 0);
    clusters[0]!.labels = { tier: 'canary' };
    clusters[0]!.fails = true;
    for (const c of clusters.slice(1)) if (c.labels.tier === 'canary') c.labels = { tier: 'prod' };
    const sim = simulate(rules, clusters, () => control(), 200);
    const last = sim.steps.at(-1)!.gate;
    expect(last.state).toBe('halted');
    expect(last.reason).toMatch(/wave 0 \(canary\).*c00/);
    expect([...sim.releasedAt.keys()]).toEqual(['c00']);
  });

  it('walks a healthy fleet through every wave, each after the soak of the one before', () => {
    const rules = rulesOf(THREE_WAVES);
    const clusters = fleet(3, 9, 0, 0);
    // A canary wave with nobody in it would hold the rest (no evidence is no pass).
    clusters[0]!.labels = { tier: 'canary' };
    const sim = simulate(rules, clusters, () => control(), 400);
    expect(sim.steps.at(-1)!.gate.state).toBe('complete');
    const firstRelease = (wave: number) =>
      Math.min(
        ...clusters.filter((c) => waveOf(rules, c.labels) === wave).map((c) => sim.releasedAt.get(c.name)!),
      );
    const lastHealthy = (wave: number) =>
      Math.max(
        ...clusters
          .filter((c) => waveOf(rules, c.labels) === wave)
          .map((c) => sim.releasedAt.get(c.name)! + c.settleAfter * 1000),
      );
    expect(firstRelease(1)).toBeGreaterThanOrEqual(lastHealthy(0) + 120_000);
    expect(firstRelease(2)).toBeGreaterThanOrEqual(lastHealthy(1) + 120_000);
  });

  it('releases nobody new while paused or after an abort, and resumes where it was', () => {
    const rules = rulesOf(THREE_WAVES);
    const pausedFrom = 30 * STEP;
    const pausedUntil = 150 * STEP;
    const clusters = fleet(11, 9, 0, 0);
    const sim = simulate(
      rules,
      clusters,
      (now) => control({ pausedAt: now >= pausedFrom && now < pausedUntil ? pausedFrom : null }),
      400,
    );
    // Nobody, wave 0 included, is released while paused.
    const during = [...sim.releasedAt.values()].filter((at) => at >= pausedFrom && at < pausedUntil);
    expect(during).toEqual([]);
    expect(sim.releasedAt.size).toBe(clusters.length);
    expect(sim.steps.at(-1)!.gate.state).toBe('complete');
    const aborted = simulate(rules, fleet(11, 9, 0, 0), () => control({ abortedAt: 0 }), 300);
    expect(aborted.releasedAt.size).toBe(0);
    expect(aborted.steps.at(-1)!.gate.state).toBe('aborted');
    // Aborted once wave 0 applied: its clusters keep the commit, nobody advances further.
    const abortAt = 3 * STEP;
    const late = simulate(
      rules,
      fleet(11, 9, 0, 0),
      (now) => control({ abortedAt: now >= abortAt ? abortAt : null }),
      300,
    );
    const canaries = late.clusters.filter((c) => waveOf(rules, c.labels) === 0).map((c) => c.name);
    expect(canaries.length).toBeGreaterThan(0);
    expect([...late.releasedAt.keys()].sort()).toEqual(canaries.sort());
    for (const name of canaries) {
      const last = late.steps.at(-1)!.gate.waves[0]!.clusters.find((c) => c.name === name)!;
      expect(last.released).toBe(true);
    }
  });

  it('waits for approval of a wave that asks for it', () => {
    const rules = rulesOf({
      ...THREE_WAVES,
      waves: [THREE_WAVES.waves[0], { ...THREE_WAVES.waves[1], approval: 'manual' }, THREE_WAVES.waves[2]],
    });
    const clusters = fleet(5, 9, 0, 0);
    const approveAt = 300 * STEP;
    const sim = simulate(
      rules,
      clusters,
      (now) => control({ approvals: now >= approveAt ? { '1': approveAt } : {} }),
      500,
    );
    const prod = clusters.filter((c) => waveOf(rules, c.labels) === 1);
    expect(prod.length).toBeGreaterThan(0);
    for (const c of prod) expect(sim.releasedAt.get(c.name)).toBeGreaterThanOrEqual(approveAt);
    const before = sim.steps.find((s) => s.now === approveAt - STEP)!.gate;
    expect(before.waves[1]!.state).toBe('awaiting-approval');
  });

  it('skips an offline cluster after the grace period, but blocks on it under offline: block', () => {
    const base = {
      soak: '1m',
      offlineGrace: '3m',
      waves: [{ name: 'canary', selector: 'tier=canary' }, { name: 'rest' }],
    };
    const clusters = () => {
      const cs = fleet(2, 4, 0, 0);
      cs.forEach((c, i) => {
        c.labels = { tier: i < 2 ? 'canary' : 'prod' };
      });
      cs[1]!.offline = true;
      return cs;
    };
    const skip = simulate(rulesOf(base), clusters(), () => control(), 100);
    expect(skip.steps.at(-1)!.gate.state).toBe('complete');
    const block = simulate(rulesOf({ ...base, offline: 'block' }), clusters(), () => control(), 100);
    const gate = block.steps.at(-1)!.gate;
    expect(gate.state).toBe('progressing');
    expect(gate.waves[0]!.reason).toMatch(/c01 never reported \(blocks the wave by policy\)/);
    expect(block.releasedAt.has('c02')).toBe(false);
  });

  it('gives the same answer whatever order the clusters come in', () => {
    const rules = rulesOf(THREE_WAVES);
    const sim = simulate(rules, fleet(9, 9, 0.2, 0.1), () => control(), 100);
    const step = sim.steps[60]!;
    const shuffled = [...step.view].reverse();
    expect(decideGate(rules, control(), shuffled, step.now)).toEqual(step.gate);
  });

  it('judges a cluster by its own reports on the commit: an old failure that heals does not count', () => {
    const rules = rulesOf({
      soak: '1m',
      waves: [{ name: 'canary', selector: 'tier=canary' }, { name: 'rest' }],
    });
    const canary = (obs: RolloutObservation): GateCluster => ({
      name: 'c1',
      labels: { tier: 'canary' },
      lastSeenAt: 0,
      observation: obs,
    });
    const rest: GateCluster = { name: 'r1', labels: {}, lastSeenAt: 0, observation: EMPTY_OBSERVATION };
    // The fix commit's first report still shows what the broken commit left (Degraded), then heals.
    let obs = observe(EMPTY_OBSERVATION, 'failed', 0);
    expect(decideGate(rules, control(), [canary(obs), rest], 0).state).toBe('halted');
    obs = observe(obs, 'progressing', 10_000);
    obs = observe(obs, 'healthy', 20_000);
    const healed = decideGate(rules, control(), [canary(obs), rest], 80_000);
    expect(healed.state).toBe('progressing');
    expect(healed.waves[0]!.failures).toBe(0);
    expect(healed.waves[1]!.clusters[0]!.released).toBe(true);
    // Failing again after it was healthy on the commit counts, for good: flapping is failing.
    obs = observe(obs, 'failed', 90_000);
    obs = observe(obs, 'healthy', 100_000);
    const flapped = decideGate(
      rules,
      control(),
      [canary(obs), { ...rest, observation: EMPTY_OBSERVATION }],
      200_000,
    );
    expect(flapped.state).toBe('halted');
    expect(flapped.waves[0]!.clusters[0]!.state).toBe('failed');
  });

  it('releases no more of a wave once its failures spent the budget', () => {
    const rules = rulesOf({
      soak: '1m',
      waves: [
        { name: 'canary', selector: 'tier=canary' },
        { name: 'prod', maxConcurrent: 1 },
      ],
    });
    const healthy = observe(EMPTY_OBSERVATION, 'healthy', 0);
    const failed = observe({ ...EMPTY_OBSERVATION, releasedAt: 70_000 }, 'failed', 80_000);
    const gate = decideGate(
      rules,
      control(),
      [
        { name: 'c1', labels: { tier: 'canary' }, lastSeenAt: 90_000, observation: healthy },
        { name: 'p1', labels: {}, lastSeenAt: 90_000, observation: failed },
        { name: 'p2', labels: {}, lastSeenAt: 90_000, observation: EMPTY_OBSERVATION },
      ],
      90_000,
    );
    expect(gate.state).toBe('halted');
    expect(gate.waves[1]!.clusters.find((c) => c.name === 'p2')!.released).toBe(false);
  });

  it('holds every later wave while no cluster of the canary wave has reported', () => {
    const rules = rulesOf({
      soak: '1m',
      waves: [{ name: 'canary', selector: 'tier=canary' }, { name: 'prod' }],
    });
    const p1: GateCluster = { name: 'p1', labels: {}, lastSeenAt: 0, observation: EMPTY_OBSERVATION };
    // The hub has heard of nobody in the canary wave: that is no evidence, so prod waits.
    const unknown = decideGate(rules, control(), [p1], 3_600_000);
    expect(unknown.waves[0]).toMatchObject({ state: 'open', size: 0 });
    expect(unknown.waves[1]!.clusters[0]!.released).toBe(false);
    expect(unknown.reason).toMatch(
      /^wave 0 \(canary\): 0 of 0 clusters reported on this commit: the hub knows no cluster/,
    );
    // Known canaries (from clusters.yaml) that never reported hold it as well, past the grace.
    const silent = (name: string): GateCluster => ({
      name,
      labels: { tier: 'canary' },
      lastSeenAt: null,
      observation: EMPTY_OBSERVATION,
    });
    const held = decideGate(rules, control(), [silent('c1'), silent('c2'), p1], 3 * 3_600_000);
    expect(held.waves[0]!.state).toBe('open');
    expect(held.waves[1]!.clusters[0]!.released).toBe(false);
    expect(held.reason).toMatch(
      /^wave 0 \(canary\): 0 of 2 clusters reported on this commit: .*strata rollout waive <commit> --wave canary/,
    );
  });

  it('does not skip a canary that never reported before the grace has passed since the rollout began', () => {
    const rules = rulesOf({
      soak: '1m',
      offlineGrace: '1h',
      waves: [{ name: 'canary', selector: 'tier=canary' }, { name: 'prod' }],
    });
    const healthy = observe(EMPTY_OBSERVATION, 'healthy', 0);
    const fleetAt = (): GateCluster[] => [
      { name: 'c1', labels: { tier: 'canary' }, lastSeenAt: 120_000, observation: healthy },
      { name: 'c2', labels: { tier: 'canary' }, lastSeenAt: null, observation: EMPTY_OBSERVATION },
      { name: 'p1', labels: {}, lastSeenAt: 120_000, observation: EMPTY_OBSERVATION },
    ];
    const early = decideGate(rules, control(), fleetAt(), 120_000);
    expect(early.waves[0]!.state).toBe('open');
    expect(early.waves[0]!.clusters.find((c) => c.name === 'c2')!.reason).toBe(
      'released, has not reported to the hub yet',
    );
    expect(early.waves[1]!.clusters[0]!.released).toBe(false);
    // An hour after the rollout began, offline: skip lets it go (c1 soaked, so there is evidence).
    const late = decideGate(rules, control(), fleetAt(), 3_600_001);
    expect(late.waves[0]!.state).toBe('passed');
    expect(late.waves[0]!.clusters.find((c) => c.name === 'c2')!.reason).toBe(
      'never reported (skipped by policy)',
    );
  });

  it('passes a waived wave on the evidence of the clusters that ran the commit, and only then', () => {
    const rules = rulesOf({
      soak: '1m',
      offline: 'block',
      waves: [{ name: 'canary', selector: 'tier=canary' }, { name: 'prod' }],
    });
    const silent: GateCluster = {
      name: 'c2',
      labels: { tier: 'canary' },
      lastSeenAt: null,
      observation: EMPTY_OBSERVATION,
    };
    const p1: GateCluster = { name: 'p1', labels: {}, lastSeenAt: 0, observation: EMPTY_OBSERVATION };
    const waived = control({ waivers: { '0': 10_000 } });
    // Nobody of the wave ever reported: the waiver alone lets prod go.
    expect(decideGate(rules, control(), [silent, p1], 60_000).waves[1]!.clusters[0]!.released).toBe(false);
    const alone = decideGate(rules, waived, [silent, p1], 60_000);
    expect(alone.waves[0]!.state).toBe('passed');
    expect(alone.waves[0]!.clusters[0]!.reason).toBe('released, has not reported to the hub yet (waived)');
    expect(alone.waves[1]!.clusters[0]!.released).toBe(true);
    // A canary that ran the commit still has to soak, and its failure still halts.
    const soaking: GateCluster = {
      name: 'c1',
      labels: { tier: 'canary' },
      lastSeenAt: 50_000,
      observation: observe(EMPTY_OBSERVATION, 'healthy', 30_000),
    };
    expect(decideGate(rules, waived, [soaking, silent, p1], 60_000).waves[0]!.state).toBe('open');
    expect(decideGate(rules, waived, [soaking, silent, p1], 90_000).waves[0]!.state).toBe('passed');
    const failing = { ...soaking, observation: observe(EMPTY_OBSERVATION, 'failed', 30_000) };
    expect(decideGate(rules, waived, [failing, silent, p1], 90_000).state).toBe('halted');
  });

  it('completes a rollout whose last wave has no known cluster, which holds nobody back', () => {
    const rules = rulesOf({
      soak: '1m',
      waves: [{ name: 'canary', selector: 'tier=canary' }, { name: 'rest' }],
    });
    const c1: GateCluster = {
      name: 'c1',
      labels: { tier: 'canary' },
      lastSeenAt: 0,
      observation: observe(EMPTY_OBSERVATION, 'healthy', 0),
    };
    expect(decideGate(rules, control(), [c1], 120_000).state).toBe('complete');
  });
});
