// Drift and conflicts on a real apiserver: another field manager changes a field Strata owns.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeApiClient } from '../../agent/src/kube/client.js';
import type { KubeObject } from '../../agent/src/model/object.js';
import { planCluster, syncCluster } from '../../agent/src/sync/sync.js';
import { cleanUp, configMap, FAST, labClient, namespace, PARENT_NAMESPACE } from './sync-fixtures.js';

const NS = 'e2e-sync-drift';
const SET = { name: 'e2e-sync-drift', namespace: PARENT_NAMESPACE };
const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'settings' };
const desired = (): KubeObject[] => [
  namespace(NS),
  configMap(NS, 'settings', { color: 'blue', mode: 'fast' }),
];

let client: KubeApiClient;

beforeAll(async () => {
  client = labClient('hz');
  await cleanUp(client, NS, SET.name);
});

afterAll(async () => {
  await cleanUp(client, NS, SET.name);
  client.close();
});

const liveData = async () => (await client.get(ref))?.data as Record<string, string>;

/** Someone else changes a field Strata owns, through a plain update as `kubectl edit` would. */
const intrude = (color: string) => client.mergePatch(ref, { data: { color } }, 'kubectl-edit');

describe('drift', () => {
  it('shows a field changed by someone else as drift in the next plan, naming the manager that now owns it', async () => {
    await syncCluster({ client, objects: desired(), applySet: SET, policy: FAST });
    await intrude('red');
    const cp = await planCluster({ client, objects: desired(), applySet: SET, policy: FAST });
    const entry = cp.plan.entries.find((e) => e.ref.name === 'settings')!;
    expect(entry.drift).toBe(true);
    expect(entry.action).toBe('conflict');
    expect(entry.changes).toEqual([{ path: '.data.color', op: 'replace', before: 'red', after: 'blue' }]);
    expect(entry.conflicts).toEqual([
      expect.objectContaining({ field: '.data.color', manager: 'kubectl-edit' }),
    ]);
  });

  it('policy report leaves the drifted value in place and reports it (OutOfSync)', async () => {
    const r = await syncCluster({
      client,
      objects: desired(),
      applySet: SET,
      policy: { ...FAST, drift: 'report' },
    });
    expect(r.drift).toEqual([
      { id: `/ConfigMap/${NS}/settings`, fields: ['.data.color'], action: 'reported' },
    ]);
    expect(r.applied).toEqual([]);
    expect(r.phase).toBe('OutOfSync');
    expect((await liveData()).color).toBe('red');
  });

  it('policy report still applies changes that come from Git', async () => {
    const changed = [namespace(NS), configMap(NS, 'settings', { color: 'blue', mode: 'slow' })];
    const r = await syncCluster({
      client,
      objects: changed,
      applySet: SET,
      policy: { ...FAST, drift: 'report' },
    });
    expect(r.counts.updated).toBe(1);
    expect(await liveData()).toEqual({ color: 'blue', mode: 'slow' });
  });

  it('policy correct re-applies the drifted field and says so', async () => {
    await syncCluster({ client, objects: desired(), applySet: SET, policy: FAST });
    await intrude('green');
    const r = await syncCluster({ client, objects: desired(), applySet: SET, policy: FAST });
    expect(r.drift).toEqual([
      { id: `/ConfigMap/${NS}/settings`, fields: ['.data.color'], action: 'corrected' },
    ]);
    expect((await liveData()).color).toBe('blue');
    expect(r.phase).not.toBe('Failed');
  });
});

describe('conflicts with another field manager', () => {
  it('reports the conflicting field and manager, and without force leaves their value and fails the object', async () => {
    await client.apply(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'settings', namespace: NS },
        data: { mode: 'turbo' },
      },
      { fieldManager: 'team-b', force: true },
    );
    const r = await syncCluster({
      client,
      objects: desired(),
      applySet: SET,
      policy: { ...FAST, force: false },
    });
    expect(r.conflicts).toEqual([
      expect.objectContaining({ id: `/ConfigMap/${NS}/settings`, field: '.data.mode', manager: 'team-b' }),
    ]);
    expect(r.errors).toEqual([
      expect.objectContaining({ id: `/ConfigMap/${NS}/settings`, reason: 'Conflict' }),
    ]);
    expect(r.phase).toBe('Failed');
    expect((await liveData()).mode).toBe('turbo');
  });

  it('with force (the default) takes the field over', async () => {
    const r = await syncCluster({ client, objects: desired(), applySet: SET, policy: FAST });
    expect(r.conflicts.map((c) => c.manager)).toEqual(['team-b']);
    expect(r.errors).toEqual([]);
    expect((await liveData()).mode).toBe('fast');
  });
});
