// The agent's rollout metrics, read from its Prometheus registry after real gate checks (the real
// gatekeeper and state folder, a real repository folder, no hub). The sync pipeline is a stand-in
// that reports success: what is measured here is the gate, not an apply.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SourceConfig } from '../../../agent/src/config/schema.js';
import { AgentMetrics } from '../../../agent/src/loop/metrics.js';
import { SourceRunner } from '../../../agent/src/loop/source-runner.js';
import type {
  LoopOptions,
  PipelineInput,
  SourceAccess,
  SourceSections,
} from '../../../agent/src/loop/types.js';
import { rolloutGatekeeper } from '../../../agent/src/rollout/gatekeeper.js';
import { FolderTree } from '../../../agent/src/source/folder.js';
import type { SourceState } from '../../../agent/src/source/state.js';

const HEAD = 'c0ffee0000000000000000000000000000000002';
let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function runOnce(root: string, name: string, labels: Record<string, string>, withWaves = true) {
  const repo = path.join(root, 'repo');
  mkdirSync(path.join(repo, 'global'), { recursive: true });
  writeFileSync(
    path.join(repo, 'strata.yaml'),
    `apiVersion: strata.dev/v1\nkind: Fleet\nlayers: [{ path: global }]\n${withWaves ? 'rollout:\n  waves:\n    - name: canary\n      selector: tier=canary\n    - name: rest\n' : ''}`,
  );
  const state: SourceState = {
    commit: HEAD,
    fetchedAt: new Date().toISOString(),
    reachable: true,
    error: null,
  };
  const access: SourceAccess = { state, fetch: async () => state, tree: () => new FolderTree(repo) };
  const pipeline = {
    async reconcile(input: PipelineInput): Promise<SourceSections> {
      const at = new Date().toISOString();
      return {
        sync: {
          phase: 'Synced',
          commit: input.commit,
          finishedAt: at,
          created: 0,
          updated: 0,
          pruned: 0,
          unchanged: 0,
          conflicts: [],
          errors: [],
        },
        health: { status: 'Healthy', objects: [] },
        drift: [],
      };
    },
  };
  const metrics = new AgentMetrics(() => 0);
  const opts = {
    identity: { name, labels },
    log: pino({ level: 'silent' }),
    pipeline,
    metrics,
    rollout: rolloutGatekeeper({ identity: { name, labels }, stateDir: path.join(root, name) }),
  } as unknown as LoopOptions;
  const config = { ...SourceConfig.parse({ url: repo, interval: '1h' }), name: 'fleet' };
  const runner = new SourceRunner({ config, access }, opts, () => {});
  await runner.run('manual');
  await runner.stop();
  return { text: await metrics.registry.metrics(), metrics };
}

describe('agent rollout metrics', () => {
  it('show the wave, the wait for its gate and the released commit', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'strata-rollout-metrics-'));
    const canary = await runOnce(dir, 'canary-1', { tier: 'canary' });
    expect(canary.text).toContain('strata_rollout_waiting{source="fleet"} 0');
    expect(canary.text).toContain('strata_rollout_wave{source="fleet"} 0');
    expect(canary.text).toContain(`strata_rollout_released_commit_info{source="fleet",commit="${HEAD}"} 1`);
    const later = await runOnce(dir, 'far-1', { tier: 'far' });
    expect(later.text).toContain('strata_rollout_waiting{source="fleet"} 1');
    expect(later.text).toContain('strata_rollout_wave{source="fleet"} 1');
    expect(later.text).not.toMatch(/strata_rollout_released_commit_info\{/);
    // A commit without waves: no rollout series at all.
    later.metrics.recordRollout('fleet', null);
    expect(await later.metrics.registry.metrics()).not.toMatch(/strata_rollout_(waiting|wave)\{/);
  });
});
