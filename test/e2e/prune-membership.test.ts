// Membership needs Strata's own apply: an object that only carries the ApplySet's part-of label
// (copied with `kubectl get -o yaml`, or set by another tool) is never pruned, while the objects
// Strata applied and the render dropped are.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applySetId, PART_OF_LABEL } from '../../agent/src/inventory/applyset.js';
import type { KubeApiClient } from '../../agent/src/kube/client.js';
import { syncCluster } from '../../agent/src/sync/sync.js';
import { cleanUp, configMap, FAST, labClient, namespace, PARENT_NAMESPACE } from './sync-fixtures.js';

const NS = 'e2e-prune-membership';
const SET = { name: 'e2e-prune-membership', namespace: PARENT_NAMESPACE };
let client: KubeApiClient;
let stateDir: string;

const sync = (names: string[]) =>
  syncCluster({
    client,
    objects: [namespace(NS), ...names.map((n) => configMap(NS, n, { n }))],
    applySet: SET,
    stateDir,
    policy: { ...FAST, pruneMaxFraction: 1 },
  });
const exists = async (name: string) =>
  Boolean(await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name }));

beforeAll(async () => {
  client = labClient('hz');
  stateDir = await mkdtemp(join(tmpdir(), 'strata-prune-membership-'));
  await cleanUp(client, NS, SET.name);
});

afterAll(async () => {
  await cleanUp(client, NS, SET.name);
  client.close();
  await rm(stateDir, { recursive: true, force: true });
});

describe('ApplySet membership', () => {
  it('prunes what Strata applied, never an object that merely carries the label', async () => {
    expect((await sync(['ours-1', 'ours-2'])).phase).toBe('Synced');
    const copied = configMap(NS, 'copied', { owner: 'someone-else' });
    copied.metadata.labels = { [PART_OF_LABEL]: applySetId(SET) };
    await client.apply(copied, { fieldManager: 'kubectl', force: true });

    const result = await sync(['ours-1']);
    expect(result.counts.pruned).toBe(1);
    expect(await exists('ours-2')).toBe(false);
    expect(await exists('copied')).toBe(true);
    expect(await exists('ours-1')).toBe(true);
  });
});
