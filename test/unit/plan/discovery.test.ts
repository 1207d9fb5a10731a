import { describe, expect, it } from 'vitest';
import { RestMapper, resourcePath } from '../../../agent/src/kube/discovery.js';
import { errorFromResponse } from '../../../agent/src/kube/errors.js';
import { conflictsOf } from '../../../agent/src/plan/conflict.js';

/** A discovery document server: the answers an apiserver gives, recorded as data. */
function served(lists: Record<string, unknown>) {
  const asked: string[] = [];
  const fetch = async (path: string) => {
    asked.push(path);
    return lists[path] as { resources: { name: string; kind: string; namespaced: boolean }[] } | undefined;
  };
  return { asked, fetch };
}

describe('RestMapper', () => {
  it('maps kinds to resources and scope, asking once per group version', async () => {
    const { asked, fetch } = served({
      '/apis/apps/v1': {
        resources: [
          { name: 'deployments', kind: 'Deployment', namespaced: true },
          { name: 'deployments/status', kind: 'Deployment', namespaced: true },
        ],
      },
      '/api/v1': { resources: [{ name: 'namespaces', kind: 'Namespace', namespaced: false }] },
    });
    const m = new RestMapper(fetch);
    expect(await m.resourceFor('apps/v1', 'Deployment')).toEqual({
      group: 'apps',
      version: 'v1',
      kind: 'Deployment',
      resource: 'deployments',
      namespaced: true,
    });
    expect(await m.resourceFor('apps/v1', 'Deployment')).toBeDefined();
    expect(await m.resourceFor('v1', 'Namespace')).toMatchObject({
      group: '',
      resource: 'namespaces',
      namespaced: false,
    });
    expect(asked).toEqual(['/apis/apps/v1', '/api/v1']);
  });

  it('asks again on a miss, so a kind whose CRD was just established is found', async () => {
    const lists: Record<string, unknown> = { '/apis/example.com/v1': { resources: [] } };
    const { fetch } = served(lists);
    const m = new RestMapper(fetch);
    expect(await m.resourceFor('example.com/v1', 'Widget')).toBeUndefined();
    lists['/apis/example.com/v1'] = { resources: [{ name: 'widgets', kind: 'Widget', namespaced: true }] };
    expect(await m.resourceFor('example.com/v1', 'Widget')).toMatchObject({ resource: 'widgets' });
  });

  it('never caches a failed request: the next call asks again (an apiserver that was down at start)', async () => {
    let down = true;
    const asked: string[] = [];
    const fetch = async (path: string) => {
      asked.push(path);
      if (down)
        throw new Error('Client network socket disconnected before secure TLS connection was established');
      if (path === '/apis')
        return { groups: [{ name: 'apps', preferredVersion: { version: 'v1' } }] } as never;
      return { resources: [{ name: 'deployments', kind: 'Deployment', namespaced: true }] };
    };
    const m = new RestMapper(fetch);
    await expect(m.resourceFor('apps/v1', 'Deployment')).rejects.toThrow(/TLS connection/);
    await expect(m.resourceForGroupKind('apps', 'Deployment')).rejects.toThrow(/TLS connection/);
    down = false;
    expect(await m.resourceFor('apps/v1', 'Deployment')).toMatchObject({ resource: 'deployments' });
    expect(await m.resourceForGroupKind('apps', 'Deployment')).toMatchObject({ version: 'v1' });
    expect(asked.filter((p) => p === '/apis')).toHaveLength(2);
  });

  it('finds a group-kind through the group preferred version', async () => {
    const { fetch } = served({
      '/apis': { groups: [{ name: 'apps', preferredVersion: { version: 'v1' } }] },
      '/apis/apps/v1': { resources: [{ name: 'statefulsets', kind: 'StatefulSet', namespaced: true }] },
    });
    const m = new RestMapper(fetch);
    expect(await m.resourceForGroupKind('apps', 'StatefulSet')).toMatchObject({
      version: 'v1',
      resource: 'statefulsets',
    });
    expect(await m.resourceForGroupKind('gone.example.com', 'Thing')).toBeUndefined();
  });

  it('builds collection and object paths, escaping names', () => {
    const info = {
      group: 'apps',
      version: 'v1',
      kind: 'Deployment',
      resource: 'deployments',
      namespaced: true,
    };
    expect(resourcePath(info, 'shop', 'web')).toBe('/apis/apps/v1/namespaces/shop/deployments/web');
    expect(resourcePath(info, undefined)).toBe('/apis/apps/v1/deployments');
    const ns = { group: '', version: 'v1', kind: 'Namespace', resource: 'namespaces', namespaced: false };
    expect(resourcePath(ns, 'ignored', 'a b')).toBe('/api/v1/namespaces/a%20b');
  });
});

describe('apiserver errors', () => {
  it('reads the fields and managers of a server-side apply conflict', () => {
    const body = JSON.stringify({
      kind: 'Status',
      code: 409,
      reason: 'Conflict',
      message: 'Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: .data.color',
      details: {
        causes: [
          {
            reason: 'FieldManagerConflict',
            message: 'conflict with "kubectl-edit" using v1',
            field: '.data.color',
          },
        ],
      },
    });
    const err = errorFromResponse(409, body, 'dry-run apply');
    expect(err.isConflict).toBe(true);
    expect(conflictsOf(err)).toEqual([
      { field: '.data.color', manager: 'kubectl-edit', message: 'conflict with "kubectl-edit" using v1' },
    ]);
  });

  it('recognises an immutable-field rejection', () => {
    const body = JSON.stringify({
      kind: 'Status',
      code: 422,
      reason: 'Invalid',
      message: 'Deployment.apps "api" is invalid: spec.selector: Invalid value: ...: field is immutable',
    });
    expect(errorFromResponse(422, body, 'apply').isImmutable).toBe(true);
    expect(
      errorFromResponse(
        422,
        JSON.stringify({ reason: 'Invalid', message: 'spec.replicas: must be >= 0' }),
        'apply',
      ).isImmutable,
    ).toBe(false);
  });

  it('keeps a non-JSON body as the message, cut short', () => {
    const err = errorFromResponse(502, `<html>${'x'.repeat(1000)}</html>`, 'get');
    expect(err.reason).toBe('HTTP502');
    expect(err.message.length).toBeLessThanOrEqual(500);
  });
});
