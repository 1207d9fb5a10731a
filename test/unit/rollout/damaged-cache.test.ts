// A damaged Git cache must not let a fetched commit past the rollout gate. The source here is a
// stand-in that reports the commit's cache as damaged on the first read (a fault a real cache
// cannot produce at a chosen read); the gatekeeper, its state folder and the repository folder
// are real. The agent is in a later wave with no hub, so nothing may ever release the commit.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SourceConfig } from '../../../agent/src/config/schema.js';
import { SourceRunner } from '../../../agent/src/loop/source-runner.js';
import type {
  LoopOptions,
  PipelineInput,
  SourceAccess,
  SourceSections,
} from '../../../agent/src/loop/types.js';
import { rolloutGatekeeper } from '../../../agent/src/rollout/gatekeeper.js';
import { SourceCorruptError } from '../../../agent/src/source/errors.js';
import { FolderTree } from '../../../agent/src/source/folder.js';
import type { SourceState } from '../../../agent/src/source/state.js';

const HEAD = 'c0ffee0000000000000000000000000000000001';
let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('rollout gate with a damaged Git cache', () => {
  it('repairs the cache and applies nothing instead of the commit it could not check', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'strata-rollout-corrupt-'));
    const repo = path.join(dir, 'repo');
    mkdirSync(path.join(repo, 'global'), { recursive: true });
    writeFileSync(
      path.join(repo, 'strata.yaml'),
      'apiVersion: strata.dev/v1\nkind: Fleet\nlayers: [{ path: global }]\nrollout:\n  waves:\n    - name: canary\n      selector: tier=canary\n    - name: rest\n',
    );
    const state: SourceState = {
      commit: HEAD,
      fetchedAt: new Date().toISOString(),
      reachable: true,
      error: null,
    };
    let reads = 0;
    let repairs = 0;
    const access: SourceAccess = {
      state,
      fetch: async () => state,
      tree: () => {
        reads++;
        if (reads === 1) throw new SourceCorruptError(HEAD);
        return new FolderTree(repo);
      },
      repair: async () => {
        repairs++;
        return state;
      },
    };
    const applied: string[] = [];
    const pipeline = {
      async reconcile(input: PipelineInput): Promise<SourceSections> {
        applied.push(input.commit);
        throw new Error('the pipeline must not run: nothing was released');
      },
    };
    const log = pino({ level: 'silent' });
    const opts = {
      identity: { name: 'far-1', labels: { tier: 'far' } },
      log,
      pipeline,
      retry: { minMs: 60_000, maxMs: 60_000 },
      rollout: rolloutGatekeeper({ identity: { name: 'far-1', labels: { tier: 'far' } }, stateDir: dir }),
    } as unknown as LoopOptions;
    const config = { ...SourceConfig.parse({ url: repo, interval: '1h' }), name: 'fleet' };
    const runner = new SourceRunner({ config, access }, opts, () => {});
    await runner.run('manual');
    expect(applied).toEqual([]);
    expect(repairs).toBe(1);
    await runner.run('manual');
    expect(reads).toBe(2);
    expect(applied).toEqual([]);
    expect(runner.status.rollout?.waiting).toMatch(/^waiting for wave 1 \(rest\) gate: no hub configured/);
    await runner.stop();
  });
});
