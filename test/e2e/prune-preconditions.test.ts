// Prune deletes exactly the member it listed: an object deleted and re-created by someone else
// between the list and the delete (a new uid) is left alone, and a member that merely changed
// (same uid, newer resourceVersion) is still pruned.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applySetId, PART_OF_LABEL } from '../../agent/src/inventory/applyset.js';
import type { KubeApiClient } from '../../agent/src/kube/client.js';
import type { KubeObject } from '../../agent/src/model/object.js';
import { pruneMembers } from '../../agent/src/prune/prune.js';
import { cleanUp, configMap, labClient, namespace, PARENT_NAMESPACE } from './sync-fixtures.js';

const NS = 'e2e-prune-preconditions';
const ID = applySetId({ name: 'e2e-prune-preconditions', namespace: PARENT_NAMESPACE });
const OPTS = { fieldManager: 'strata', concurrency: 4 };
let client: KubeApiClient;

async function member(name: string, data: Record<string, string>): Promise<KubeObject> {
  const cm = configMap(NS, name, data);
  cm.metadata.labels = { [PART_OF_LABEL]: ID };
  return client.apply(cm, { fieldManager: 'strata', force: true });
}

beforeAll(async () => {
  client = labClient('hz');
  await cleanUp(client, NS, 'e2e-prune-preconditions');
  await client.apply(namespace(NS), { fieldManager: 'test', force: true });
});

afterAll(async () => {
  await cleanUp(client, NS, 'e2e-prune-preconditions');
  client.close();
});

describe('prune preconditions', () => {
  it('leaves an object that was deleted and re-created after it was listed', async () => {
    const listed = await member('recreated', { v: 'old' });
    await client.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'recreated' });
    // Someone else's object of the same name, even with the label copied onto it.
    const theirs = await member('recreated', { v: 'theirs' });
    expect(theirs.metadata.uid).not.toBe(listed.metadata.uid);

    const [outcome] = await pruneMembers(client, [listed], [], OPTS);
    expect(outcome).toMatchObject({ result: 'skipped' });
    const live = await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'recreated' });
    expect(live?.metadata.uid).toBe(theirs.metadata.uid);
  });

  it('still prunes a member that only changed after it was listed', async () => {
    const listed = await member('changed', { v: '1' });
    const changed = await member('changed', { v: '2' });
    expect(changed.metadata.resourceVersion).not.toBe(listed.metadata.resourceVersion);

    const [outcome] = await pruneMembers(client, [listed], [], OPTS);
    expect(outcome).toMatchObject({ result: 'pruned' });
    expect(
      await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'changed' }),
    ).toBeUndefined();
  });
});
