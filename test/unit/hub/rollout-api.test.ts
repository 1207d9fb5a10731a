// The rollout API on a real hub and SQLite file: agents announce and ask, reports move the gate,
// release managers pause, approve and abort with the admin token, and a restart loses nothing.
import { afterEach, describe, expect, it } from 'vitest';
import type { ReportInput } from '../../../contract/report.js';
import { parseRolloutRules } from '../../../contract/rollout-rules.js';
import { COMMIT_A, COMMIT_B, makeReport, removeDir, startTestHub, type TestHub, tempDir } from './helpers.js';

const ADMIN = 'admin-secret-token';
const rules = parseRolloutRules({
  soak: '1s',
  progressDeadline: '1h',
  waves: [
    { name: 'canary', selector: 'tier=canary' },
    { name: 'prod', selector: 'env=prod', approval: 'manual' },
    { name: 'rest' },
  ],
}).rules!;

const LABELS: Record<string, Record<string, string>> = {
  c1: { tier: 'canary', env: 'prod' },
  p1: { env: 'prod' },
  r1: { env: 'dev' },
};

let hub: TestHub | undefined;
let dir: string | undefined;
afterEach(async () => {
  await hub?.stop();
  if (dir) removeDir(dir);
  hub = undefined;
  dir = undefined;
});

function withRollout(report: ReportInput, commit: string, released: boolean): ReportInput {
  const source = report.sources[0]!;
  return {
    ...report,
    sources: [
      { ...source, rollout: { commit, wave: 0, waveName: 'x', released, enforcing: null, waiting: null } },
    ],
  };
}

async function announce(h: TestHub, token: string, cluster: string, commit = COMMIT_A, r: unknown = rules) {
  const res = await fetch(`${h.url}/api/v1/rollouts/announce`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      commit,
      source: { url: 'https://git.example.com/fleet.git', ref: 'main' },
      labels: LABELS[cluster],
      rules: r,
    }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function admin(h: TestHub, commit: string, action: string, body: unknown = {}, token = ADMIN) {
  return fetch(`${h.url}/api/v1/rollouts/${commit}/${action}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('rollout API', () => {
  it('releases wave by wave from reports, waits for approval, and keeps its state across a restart', async () => {
    dir = tempDir();
    hub = await startTestHub({ dir, settings: { adminToken: ADMIN } });
    const tokens = Object.fromEntries(
      await Promise.all(Object.keys(LABELS).map(async (c) => [c, (await hub!.token(c)).token])),
    ) as Record<string, string>;
    let seq = 1;
    const report = async (c: string, commit: string, health: 'Healthy' | 'Degraded' = 'Healthy') =>
      expect(
        (
          await hub!.post(
            tokens[c],
            withRollout(
              makeReport(c, seq++, {
                labels: LABELS[c],
                commit,
                health,
                phase: health === 'Healthy' ? 'Synced' : 'Degraded',
              }),
              COMMIT_A,
              false,
            ),
          )
        ).status,
      ).toBe(200);
    // Everyone runs the old commit B, then fetches A.
    for (const c of Object.keys(LABELS)) await report(c, COMMIT_B);
    expect((await announce(hub, tokens.c1!, 'c1')).body).toMatchObject({ wave: 0, released: true });
    const waiting = await announce(hub, tokens.p1!, 'p1');
    expect(waiting.body).toMatchObject({ wave: 1, waveName: 'prod', released: false, state: 'progressing' });
    expect(String(waiting.body.reason)).toMatch(/c1 released, not applied yet/);
    await report('c1', COMMIT_A);
    await new Promise((r) => setTimeout(r, 1100));
    await report('c1', COMMIT_A);
    const approval = await announce(hub, tokens.p1!, 'p1');
    expect(approval.body).toMatchObject({ released: false });
    expect(String(approval.body.reason)).toMatch(/waits for approval/);
    // Control needs the admin token.
    expect((await admin(hub, COMMIT_A, 'approve', { wave: 'prod' }, 'wrong')).status).toBe(401);
    expect((await admin(hub, COMMIT_A, 'approve', { wave: 'nope' })).status).toBe(400);
    expect((await admin(hub, COMMIT_A, 'approve', { wave: 'prod', by: 'ann' })).status).toBe(200);

    await hub.stop();
    hub = await startTestHub({ dir, settings: { adminToken: ADMIN } });
    expect((await announce(hub, tokens.p1!, 'p1')).body).toMatchObject({ released: true });
    expect((await announce(hub, tokens.r1!, 'r1')).body).toMatchObject({ wave: 2, released: false });
    expect((await admin(hub, COMMIT_A, 'pause')).status).toBe(200);
    await report('p1', COMMIT_A);
    await new Promise((r) => setTimeout(r, 1100));
    await report('p1', COMMIT_A);
    const paused = await announce(hub, tokens.r1!, 'r1');
    expect(paused.body).toMatchObject({ released: false, state: 'paused' });
    expect((await admin(hub, COMMIT_A, 'resume')).status).toBe(200);
    expect((await announce(hub, tokens.r1!, 'r1')).body).toMatchObject({ released: true });
    const view = (await (await hub.get(`/api/v1/rollouts/${COMMIT_A.slice(0, 10)}`)).json()) as {
      events: { kind: string; detail: string }[];
    };
    expect(view.events.map((e) => e.kind)).toEqual(
      expect.arrayContaining(['started', 'applied', 'healthy', 'approved', 'released', 'paused', 'resumed']),
    );
    expect(view.events.find((e) => e.kind === 'approved')?.detail).toBe('wave 1 by ann');
    const metrics = await (await hub.get('/metrics')).text();
    expect(metrics).toContain(`strata_hub_rollout_state{commit="${COMMIT_A}",state="progressing"} 1`);
    expect(metrics).toContain(`strata_hub_rollout_wave_open{commit="${COMMIT_A}",wave="rest"} 1`);
    expect(metrics).toMatch(
      new RegExp(
        `strata_hub_rollout_wave_clusters\\{commit="${COMMIT_A}",wave="canary",state="healthy"\\} 1`,
      ),
    );
    const page = await (await hub.get(`/commits/${COMMIT_A}`)).text();
    expect(page).toMatch(/<section class="wave" data-wave="prod" data-state="passed">/);
    expect(page).toMatch(/<tr data-cluster="r1" data-state="released">/);
  });

  it('halts on a degraded canary, and refuses control without an admin token configured', async () => {
    dir = tempDir();
    hub = await startTestHub({ dir });
    const c1 = (await hub.token('c1')).token;
    const p1 = (await hub.token('p1')).token;
    await announce(hub, c1, 'c1');
    const degraded = withRollout(
      makeReport('c1', 1, { labels: LABELS.c1, commit: COMMIT_A, phase: 'Degraded', health: 'Degraded' }),
      COMMIT_A,
      true,
    );
    expect((await hub.post(c1, degraded)).status).toBe(200);
    const answer = await announce(hub, p1, 'p1');
    expect(answer.body).toMatchObject({ released: false, state: 'halted' });
    expect(String(answer.body.reason)).toMatch(/failure budget spent: 1 of 1 failed \(c1\)/);
    const page = await (await hub.get(`/commits/${COMMIT_A}`)).text();
    expect(page).toContain('<span class="badge b-halted">halted</span>');
    expect(page).toMatch(/Blocked: failure budget spent: 1 of 1 failed \(c1\), 0 allowed/);
    expect(await (await hub.get('/metrics')).text()).toContain(
      `strata_hub_rollout_wave_failures{commit="${COMMIT_A}",wave="canary"} 1`,
    );
    expect((await admin(hub, COMMIT_A, 'abort')).status).toBe(403);
  });

  it('marks a conflict when agents announce different rules for one commit, and rejects forged rules', async () => {
    dir = tempDir();
    hub = await startTestHub({ dir });
    const c1 = (await hub.token('c1')).token;
    const p1 = (await hub.token('p1')).token;
    await announce(hub, c1, 'c1');
    const other = { ...rules, waves: rules.waves.map((w) => ({ ...w, policy: { ...w.policy, soakMs: 0 } })) };
    const answer = await announce(hub, p1, 'p1', COMMIT_A, other);
    expect(answer.body).toMatchObject({ released: false, state: 'conflict' });
    const bad = await announce(hub, p1, 'p1', COMMIT_B, {
      ...rules,
      waves: [{ ...rules.waves[0], selector: 'a in (' }],
    });
    expect(bad.status).toBe(400);
    expect(String(bad.body.error)).toMatch(/selector/);
  });

  it('supersedes an older rollout of the same source when a newer commit is announced', async () => {
    dir = tempDir();
    hub = await startTestHub({ dir });
    const c1 = (await hub.token('c1')).token;
    const p1 = (await hub.token('p1')).token;
    await announce(hub, c1, 'c1', COMMIT_A);
    await announce(hub, c1, 'c1', COMMIT_B);
    expect((await announce(hub, p1, 'p1', COMMIT_A)).body).toMatchObject({
      state: 'superseded',
      released: false,
    });
    expect((await announce(hub, p1, 'p1', COMMIT_B)).body).toMatchObject({ state: 'progressing' });
  });

  it('holds a later wave while the canaries of clusters.yaml have not reported, until a waiver lets them go', async () => {
    dir = tempDir();
    hub = await startTestHub({ dir, settings: { adminToken: ADMIN } });
    const r1 = (await hub.token('r1')).token;
    const twoWaves = parseRolloutRules({
      soak: '1s',
      waves: [{ name: 'canary', selector: 'tier=canary' }, { name: 'rest' }],
    }).rules!;
    const inventory = [
      { name: 'c1', labels: { tier: 'canary' } },
      { name: 'c2', labels: { tier: 'canary' } },
      { name: 'r1', labels: { env: 'dev' } },
    ];
    // Only the later wave's agent has spoken: the canaries it lists are known, silent, and hold it.
    const held = await announce(hub, r1, 'r1', COMMIT_A, { ...twoWaves, inventory });
    expect(held.body).toMatchObject({ wave: 1, released: false, state: 'progressing' });
    expect(String(held.body.reason)).toMatch(
      /^wave 0 \(canary\) has not passed: 0 of 2 clusters reported on this commit: c1 released, has not reported to the hub yet; c2 .*strata rollout waive <commit> --wave canary/,
    );
    const status = (await (await hub.get(`/api/v1/rollouts/${COMMIT_A}`)).json()) as {
      gate: { reason: string; waves: { size: number }[] };
    };
    expect(status.gate.reason).toMatch(/^wave 0 \(canary\): 0 of 2 clusters reported on this commit/);
    expect(status.gate.waves[0]!.size).toBe(2);
    expect((await admin(hub, COMMIT_A, 'waive', { wave: 'nope' })).status).toBe(400);
    expect((await admin(hub, COMMIT_A, 'waive', { wave: 'canary', by: 'ann' })).status).toBe(200);
    expect((await announce(hub, r1, 'r1', COMMIT_A, { ...twoWaves, inventory })).body).toMatchObject({
      released: true,
    });
    const view = (await (await hub.get(`/api/v1/rollouts/${COMMIT_A}`)).json()) as {
      events: { kind: string; detail: string }[];
    };
    expect(view.events.find((e) => e.kind === 'waived')?.detail).toBe('wave 0 by ann');
  });
});
