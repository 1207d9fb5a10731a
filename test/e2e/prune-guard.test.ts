// The mass-prune guard counts a Namespace by what its deletion takes with it: dropping one
// Namespace that holds thirty objects someone else made is a prune of thirty-one, refused under
// the default 50% limit, and allowed only when large prunes are allowed explicitly.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeApiClient } from '../../agent/src/kube/client.js';
import { syncCluster } from '../../agent/src/sync/sync.js';
import { eventually } from '../support/eventually.js';
import { cleanUp, configMap, FAST, labClient, namespace, PARENT_NAMESPACE } from './sync-fixtures.js';

const HOLDER = 'e2e-prune-guard-holder';
const OTHER = 'e2e-prune-guard-other';
const SET = { name: 'e2e-prune-guard', namespace: PARENT_NAMESPACE };
let client: KubeApiClient;
let stateDir: string;

const desired = (withHolder: boolean) => [
  ...(withHolder ? [namespace(HOLDER)] : []),
  namespace(OTHER),
  ...[0, 1, 2, 3].map((i) => configMap(OTHER, `cm-${i}`, { i: String(i) })),
];
const sync = (objects: ReturnType<typeof desired>, allowLargePrune = false) =>
  syncCluster({ client, objects, applySet: SET, stateDir, policy: { ...FAST, allowLargePrune } });
const holderExists = async () =>
  Boolean(await client.get({ apiVersion: 'v1', kind: 'Namespace', name: HOLDER }));

beforeAll(async () => {
  client = labClient('hz');
  stateDir = await mkdtemp(join(tmpdir(), 'strata-prune-guard-'));
  await cleanUp(client, HOLDER, SET.name);
  await cleanUp(client, OTHER, SET.name);
});

afterAll(async () => {
  await cleanUp(client, HOLDER, SET.name);
  await cleanUp(client, OTHER, SET.name);
  client.close();
  await rm(stateDir, { recursive: true, force: true });
});

describe('pruning a Namespace', () => {
  it('counts what is inside it against the limit and refuses above it', { timeout: 180_000 }, async () => {
    expect((await sync(desired(true))).phase).toBe('Synced');
    for (let i = 0; i < 30; i++) {
      await client.apply(configMap(HOLDER, `theirs-${i}`, { owner: 'someone-else' }), {
        fieldManager: 'someone-else',
        force: true,
      });
    }
    // One member of six leaves the render: 17% by count, but 31 objects of 36 by what it takes.
    const refused = await sync(desired(false));
    expect(refused.pruneRefused).toMatch(/and 30 objects inside the Namespaces and CRDs/);
    expect(refused.counts.pruned).toBe(0);
    expect(await holderExists()).toBe(true);
    expect(await client.list('v1', 'ConfigMap', { namespace: HOLDER })).toHaveLength(31);

    const allowed = await sync(desired(false), true);
    expect(allowed.counts.pruned).toBe(1);
    await eventually('the Namespace to go away', 90_000, async () =>
      (await holderExists()) ? undefined : true,
    );
  });
});
