// The fault campaign, bounded for `npm test`: at least 60 faults of every kind at random points
// (seed printed; STRATA_FAULT_SEED replays one) against the bundled agent, the real hub, the real
// Git server and a lab cluster of its own. After every fault the cluster must converge to the
// commit with nothing in Git missing and nothing outside the render deleted, and every report the
// agent wrote must be at the hub exactly once, in order. `npm run bench:faults` runs the long one.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeApiClient } from '../../agent/src/kube/client.js';
import { type LabCluster, labUp } from '../cluster/lab-api.js';
import { type CampaignResult, FAULT_KINDS, formatTable, runCampaign } from './faults/campaign.js';
import { labDir } from './support/lab.js';

/** At least 60 faults (more with STRATA_FAULTS); a lower count is refused, never silently run. */
const FAULTS = Math.max(60, Number(process.env.STRATA_FAULTS ?? 60));
const SEED = Number(process.env.STRATA_FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));

let tmp: string;
let cluster: LabCluster;
let client: KubeApiClient;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'strata-faults-'));
  // A cluster of its own: the campaign restarts its apiserver and freezes its etcd.
  [cluster] = (await labUp({ names: ['faults'], dir: labDir() })) as [LabCluster];
  client = KubeApiClient.connect({ kubeconfig: cluster.kubeconfigPath, timeoutMs: 10_000 });
});

afterAll(async () => {
  client?.close();
  await rm(tmp, { recursive: true, force: true });
});

describe('the fault campaign', () => {
  it(`keeps every guarantee through ${FAULTS} faults (seed ${SEED})`, { timeout: 1_500_000 }, async () => {
    console.log(`fault campaign seed ${SEED} (replay with STRATA_FAULT_SEED=${SEED})`);
    const result: CampaignResult = await runCampaign({
      seed: SEED,
      faults: FAULTS,
      labDir: labDir(),
      cluster,
      client,
      workDir: tmp,
      ...(process.env.STRATA_FAULT_LOG ? { agentLog: process.env.STRATA_FAULT_LOG } : {}),
      log: (line) => console.log(line),
    });
    console.log(formatTable(result));
    expect(result.failures).toEqual([]);
    const total = result.rows.reduce((n, r) => n + r.injected, 0);
    expect(total).toBeGreaterThanOrEqual(60);
    for (const row of result.rows) {
      expect(row.injected, row.kind).toBeGreaterThan(0);
      expect(row.converged, row.kind).toBe(row.injected);
      expect(row.lost, row.kind).toBe(0);
      expect(row.wronglyDeleted, row.kind).toBe(0);
      expect(row.outOfOrder, row.kind).toBe(0);
    }
    expect(result.rows.map((r) => r.kind)).toEqual([...FAULT_KINDS]);
    // A kill that never lands mid-prune proves nothing about prune: at least one must.
    const midPrune = result.rows.find((r) => r.kind === 'agent-kill-mid-prune');
    expect(midPrune?.landed).toBeGreaterThan(0);
    expect(result.reportsWritten).toBeGreaterThan(total);
  });
});
