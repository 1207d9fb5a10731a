// Proves the lab clusters are real Kubernetes: server-side apply with field ownership and
// conflicts, server-side dry run, CRDs, and controllers + scheduler + KWOK making a Deployment
// Available. Every other e2e test relies on these behaviours.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApiException,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  VersionApi,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KWOK_NODE_NAME, labDown, labStatus, labUp } from '../cluster/lab-api.js';
import { eventually } from '../support/eventually.js';
import { LAB_CLUSTER_NAMES, labCluster } from './support/lab.js';

interface ManagedField {
  manager?: string;
  operation?: string;
}
type LiveObject = KubernetesObject & {
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
  status?: { conditions?: { type: string; status: string }[]; availableReplicas?: number };
};

const APPLY = PatchStrategy.ServerSideApply;

async function apply(
  api: KubernetesObjectApi,
  object: object,
  manager: string,
  dryRun?: 'All',
): Promise<LiveObject> {
  return api.patch(object as KubernetesObject, undefined, dryRun, manager, false, APPLY);
}

async function readOrUndefined(
  api: KubernetesObjectApi,
  header: KubernetesObject,
): Promise<LiveObject | undefined> {
  try {
    return await api.read(header as Parameters<KubernetesObjectApi['read']>[0]);
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return undefined;
    throw error;
  }
}

function apiErrorBody(error: unknown): { message?: string; reason?: string; code?: number } {
  if (!(error instanceof ApiException)) throw error;
  const body = error.body as unknown;
  return typeof body === 'string' ? JSON.parse(body) : (body as object);
}

describe.each(LAB_CLUSTER_NAMES)('lab cluster %s', (name) => {
  const suffix = randomBytes(3).toString('hex');
  const namespace = `e2e-cluster-${suffix}`;
  const crdGroup = `e2e-${suffix}.strata.test`;
  let api: KubernetesObjectApi;

  const configMap = (data: Record<string, string>, objectName = 'settings') => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: objectName, namespace },
    data,
  });

  beforeAll(async () => {
    api = KubernetesObjectApi.makeApiClient(labCluster(name).kubeConfig);
    await apply(api, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }, 'strata');
  });

  afterAll(async () => {
    await api?.delete({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }).catch(() => {});
    await api
      ?.delete({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: `widgets.${crdGroup}` },
      })
      .catch(() => {});
  });

  it('is a real kube-apiserver v1.36 reachable through the lab kubeconfig', async () => {
    const version = await labCluster(name).kubeConfig.makeApiClient(VersionApi).getCode();
    expect(version.major).toBe('1');
    expect(version.gitVersion).toMatch(/^v1\.36\.\d+$/);
  });

  it('server-side apply creates an object whose managedFields name the strata field manager', async () => {
    const created = await apply(api, configMap({ color: 'blue' }), 'strata');
    expect(created.data).toEqual({ color: 'blue' });

    const live = await api.read(configMap({}));
    const managers = (live.metadata?.managedFields ?? []) as ManagedField[];
    expect(managers).toContainEqual(expect.objectContaining({ manager: 'strata', operation: 'Apply' }));
  });

  it('rejects a second manager changing a strata-owned field without force with 409 naming strata', async () => {
    await apply(api, configMap({ color: 'blue' }), 'strata');

    const conflict = await apply(api, configMap({ color: 'red' }), 'intruder').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(conflict).toBeInstanceOf(ApiException);
    expect((conflict as ApiException<unknown>).code).toBe(409);
    const status = apiErrorBody(conflict);
    expect(status.reason).toBe('Conflict');
    expect(status.message).toMatch(/conflict with "strata"/);
    expect(status.message).toMatch(/\.data\.color/);

    const live = (await api.read(configMap({}))) as LiveObject;
    expect(live.data?.color).toBe('blue');
  });

  it('a dryRun=All apply returns the merged result but changes nothing', async () => {
    await apply(api, configMap({ color: 'blue' }), 'strata');
    const before = (await api.read(configMap({}))) as LiveObject;

    const preview = await apply(api, configMap({ color: 'green', size: 'L' }), 'strata', 'All');
    expect(preview.data).toEqual({ color: 'green', size: 'L' });

    const after = (await api.read(configMap({}))) as LiveObject;
    expect(after.data).toEqual({ color: 'blue' });
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);

    const dryCreated = await apply(api, configMap({ only: 'dry' }, 'never-created'), 'strata', 'All');
    expect(dryCreated.data).toEqual({ only: 'dry' });
    expect(await readOrUndefined(api, configMap({}, 'never-created'))).toBeUndefined();
  });

  it('establishes a CustomResourceDefinition and accepts an applied custom resource of it', async () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `widgets.${crdGroup}` },
      spec: {
        group: crdGroup,
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  spec: {
                    type: 'object',
                    properties: { size: { type: 'integer', minimum: 1 } },
                    required: ['size'],
                  },
                },
              },
            },
          },
        ],
      },
    };
    await apply(api, crd, 'strata');
    await eventually('CRD Established', 60_000, async () => {
      const live = (await api.read(crd)) as LiveObject;
      return live.status?.conditions?.find((c) => c.type === 'Established' && c.status === 'True');
    });

    const widget = {
      apiVersion: `${crdGroup}/v1`,
      kind: 'Widget',
      metadata: { name: 'w1', namespace },
      spec: { size: 3 },
    };
    // Discovery of a just-established group can lag a moment behind the condition.
    const applied = await eventually('Widget applied', 30_000, () =>
      apply(api, widget, 'strata').catch((error: unknown) => {
        if (error instanceof Error && /Unrecognized API version and kind|404/.test(error.message))
          return undefined;
        throw error;
      }),
    );
    expect(applied.spec).toEqual({ size: 3 });
    expect(applied.metadata?.uid).toBeTruthy();

    // The CRD's schema is enforced: a size below the minimum is rejected by the apiserver.
    const invalid = await apply(
      api,
      { ...widget, metadata: { name: 'w2', namespace }, spec: { size: 0 } },
      'strata',
    ).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect((invalid as ApiException<unknown>).code).toBe(422);
  });

  it('makes a Deployment Available with its Pods scheduled onto the KWOK node', async () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          // KWOK never pulls images: the name only has to be valid.
          spec: { containers: [{ name: 'web', image: 'registry.example/strata/web:1.0' }] },
        },
      },
    };
    await apply(api, deployment, 'strata');

    const available = await eventually('Deployment Available', 90_000, async () => {
      const live = (await api.read(deployment)) as LiveObject;
      const condition = live.status?.conditions?.find((c) => c.type === 'Available' && c.status === 'True');
      return condition && live.status?.availableReplicas === 2 ? live : undefined;
    });
    expect(available.status?.availableReplicas).toBe(2);

    const pods = await api.list(
      'v1',
      'Pod',
      namespace,
      undefined,
      undefined,
      undefined,
      undefined,
      'app=web',
    );
    expect(pods.items).toHaveLength(2);
    for (const pod of pods.items as (KubernetesObject & { spec?: { nodeName?: string } } & LiveObject)[]) {
      expect(pod.spec?.nodeName).toBe(KWOK_NODE_NAME);
      expect(pod.status?.conditions).toContainEqual(
        expect.objectContaining({ type: 'Ready', status: 'True' }),
      );
    }
  });
});

describe('the lab API', () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-lab-'));

  afterAll(async () => {
    await labDown(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it('reuses a running cluster on a second up and leaves no process behind after down', async () => {
    const [first] = await labUp({ names: ['probe'], dir });
    expect(first).toBeDefined();
    const pids = Object.values(first!.pids);
    expect(pids).toHaveLength(5);
    expect(pids.every(processExists)).toBe(true);

    const [again] = await labUp({ names: ['probe'], dir });
    expect(again?.pids).toEqual(first?.pids);
    expect(again?.server).toBe(first?.server);

    const [status] = await labStatus(dir);
    expect(status?.ready).toBe(true);
    expect(Object.values(status?.running ?? {})).toEqual([true, true, true, true, true]);

    expect(await labDown(dir)).toEqual(['probe']);
    expect(pids.filter(processExists)).toEqual([]);
    expect(await labStatus(dir)).toEqual([]);
  });
});

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
