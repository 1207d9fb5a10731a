// The agent's gatekeeper against a real hub (SQLite file, loopback HTTP, the admin API): which
// commit each agent may enforce while a rollout is progressing, paused, resumed and aborted, and
// what it does without a hub. Reports are posted as the agents would post them.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SourceConfig } from '../../../agent/src/config/schema.js';
import {
  hubAsker,
  type RolloutGatekeeper,
  rolloutGatekeeper,
} from '../../../agent/src/rollout/gatekeeper.js';
import { FolderTree } from '../../../agent/src/source/folder.js';
import type { ReportInput } from '../../../contract/report.js';
import {
  COMMIT_A,
  COMMIT_B,
  makeReport,
  removeDir,
  startTestHub,
  type TestHub,
  tempDir,
} from '../hub/helpers.js';

const ADMIN = 'gatekeeper-admin-token';
const log = pino({ level: 'silent' });
const source = { ...SourceConfig.parse({ url: 'https://git.example.com/fleet.git' }), name: 'fleet' };
const RULES = `apiVersion: strata.dev/v1
kind: Fleet
layers: [{ path: global }]
rollout:
  soak: 1s
  progressDeadline: 1h
  waves:
    - name: canary
      selector: tier=canary
    - name: prod
`;

let hub: TestHub | undefined;
let dir: string | undefined;
afterEach(async () => {
  await hub?.stop();
  if (dir) removeDir(dir);
  hub = undefined;
  dir = undefined;
});

interface Agent {
  name: string;
  labels: Record<string, string>;
  gate: RolloutGatekeeper;
  token: string;
  seq: number;
}

async function agentOf(
  h: TestHub,
  root: string,
  name: string,
  labels: Record<string, string>,
  withHub = true,
) {
  const tokenFile = path.join(root, `${name}.token`);
  const { token } = await h.token(name);
  writeFileSync(tokenFile, token);
  const gate = rolloutGatekeeper({
    identity: { name, labels },
    stateDir: path.join(root, name),
    ...(withHub
      ? { ask: hubAsker({ url: h.url, tokenFile, timeout: 2000, bodyLimit: 4 << 20 } as never) }
      : {}),
  });
  return { name, labels, gate, token, seq: 1 } satisfies Agent;
}

function treeOf(root: string): FolderTree {
  const repo = path.join(root, 'repo');
  mkdirSync(path.join(repo, 'global'), { recursive: true });
  writeFileSync(path.join(repo, 'strata.yaml'), RULES);
  return new FolderTree(repo);
}

async function choose(a: Agent, tree: FolderTree, head: string) {
  return a.gate.choose({ source, displayUrl: source.url, head, tree, log });
}

/** The agent's report: `applied` ran healthy, `fetched` carries the rollout status. */
async function report(h: TestHub, a: Agent, applied: string, fetched: string, released: boolean) {
  const base = makeReport(a.name, a.seq++, { labels: a.labels, commit: applied, fetched });
  const input: ReportInput = {
    ...base,
    sources: [
      {
        ...base.sources[0]!,
        rollout: { commit: fetched, wave: 0, waveName: 'x', released, enforcing: applied, waiting: null },
      },
    ],
  };
  expect((await h.post(a.token, input)).status).toBe(200);
}

function admin(h: TestHub, commit: string, action: string) {
  return fetch(`${h.url}/api/v1/rollouts/${commit}/${action}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: '{}',
  });
}

const soak = () => new Promise((r) => setTimeout(r, 1100));

describe('rollout gatekeeper against a real hub', () => {
  it('holds every agent that has not applied while paused or aborted, wave 0 included', async () => {
    dir = tempDir();
    hub = await startTestHub({ dir, settings: { adminToken: ADMIN } });
    const tree = treeOf(dir);
    const canary = await agentOf(hub, dir, 'canary-1', { tier: 'canary' });
    const late = await agentOf(hub, dir, 'canary-2', { tier: 'canary' });
    const prod1 = await agentOf(hub, dir, 'prod-1', { env: 'prod' });
    const prod2 = await agentOf(hub, dir, 'prod-2', { env: 'prod' });

    // Everyone runs B, released to all of them (the canaries' first, then the rest after the soak).
    for (const a of [canary, late]) expect((await choose(a, tree, COMMIT_B)).commit).toBe(COMMIT_B);
    for (const a of [canary, late, prod1, prod2]) await report(hub, a, COMMIT_B, COMMIT_B, true);
    await soak();
    for (const a of [canary, late]) await report(hub, a, COMMIT_B, COMMIT_B, true);
    for (const a of [prod1, prod2]) {
      expect((await choose(a, tree, COMMIT_B)).commit).toBe(COMMIT_B);
      await report(hub, a, COMMIT_B, COMMIT_B, true);
    }
    // A: the canary applies at once and turns healthy; prod waits for the soak.
    expect((await choose(canary, tree, COMMIT_A)).commit).toBe(COMMIT_A);
    await report(hub, canary, COMMIT_A, COMMIT_A, true);
    const waiting = await choose(prod1, tree, COMMIT_A);
    expect(waiting.commit).toBe(COMMIT_B);
    expect(waiting.status?.waiting).toMatch(
      /^waiting for wave 1 \(prod\) gate: wave 0 \(canary\) has not passed: 1 of 2 clusters reported on this commit: canary-1 soaking/,
    );

    expect((await admin(hub, COMMIT_A, 'pause')).status).toBe(200);
    await soak();
    await report(hub, canary, COMMIT_A, COMMIT_A, true);
    // Well past the soak, paused: nobody who has not applied A advances, the late canary neither.
    for (const a of [prod1, prod2, late]) {
      const held = await choose(a, tree, COMMIT_A);
      expect(held.commit, a.name).toBe(COMMIT_B);
      expect(held.status?.waiting, a.name).toMatch(/rollout paused: paused by a release manager/);
    }
    // The canary that applied keeps enforcing A.
    expect((await choose(canary, tree, COMMIT_A)).commit).toBe(COMMIT_A);

    expect((await admin(hub, COMMIT_A, 'resume')).status).toBe(200);
    expect((await choose(late, tree, COMMIT_A)).commit).toBe(COMMIT_A);
    await report(hub, late, COMMIT_A, COMMIT_A, true);
    await soak();
    for (const a of [canary, late]) await report(hub, a, COMMIT_A, COMMIT_A, true);
    expect((await choose(prod1, tree, COMMIT_A)).commit).toBe(COMMIT_A);
    expect((await admin(hub, COMMIT_A, 'abort')).status).toBe(200);
    // The wave is open, but after the abort nobody advances further.
    const held = await choose(prod2, tree, COMMIT_A);
    expect(held.commit).toBe(COMMIT_B);
    expect(held.status?.waiting).toMatch(/rollout aborted: aborted by a release manager/);
    // Released before the abort: kept, from the agent's own state, even with the hub gone.
    await hub.stop();
    hub = undefined;
    expect((await choose(prod1, tree, COMMIT_A)).commit).toBe(COMMIT_A);
    expect((await choose(prod2, tree, COMMIT_A)).commit).toBe(COMMIT_B);
  });

  it('applies wave 0 without a hub or with the hub unreachable, never a later wave', async () => {
    dir = tempDir();
    hub = await startTestHub({ dir });
    const tree = treeOf(dir);
    const lone = await agentOf(hub, dir, 'canary-1', { tier: 'canary' }, false);
    const canary = await agentOf(hub, dir, 'canary-2', { tier: 'canary' });
    const prod = await agentOf(hub, dir, 'prod-1', { env: 'prod' });
    await hub.stop();
    hub = undefined;
    expect((await choose(lone, tree, COMMIT_A)).commit).toBe(COMMIT_A);
    expect((await choose(canary, tree, COMMIT_A)).commit).toBe(COMMIT_A);
    const cut = await choose(prod, tree, COMMIT_A);
    expect(cut.commit).toBeNull();
    expect(cut.status?.waiting).toMatch(/^waiting for wave 1 \(prod\) gate: hub unreachable/);
  });
});
