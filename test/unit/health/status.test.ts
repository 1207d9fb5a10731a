import { describe, expect, it } from 'vitest';
import { summariseHealth, syncPhase } from '../../../agent/src/health/phase.js';
import { objectHealth } from '../../../agent/src/health/status.js';
import type { KubeObject } from '../../../agent/src/model/object.js';

function obj(
  apiVersion: string,
  kind: string,
  rest: Record<string, unknown> = {},
  generation = 1,
): KubeObject {
  return { apiVersion, kind, metadata: { name: 'x', namespace: 'ns', generation }, ...rest };
}

const deployment = (spec: Record<string, unknown>, status: Record<string, unknown>, generation = 2) =>
  obj('apps/v1', 'Deployment', { spec, status }, generation);

describe('Deployment health', () => {
  it('is Current when every replica is updated and available', () => {
    const d = deployment(
      { replicas: 3 },
      {
        observedGeneration: 2,
        replicas: 3,
        updatedReplicas: 3,
        availableReplicas: 3,
        conditions: [{ type: 'Available', status: 'True' }],
      },
    );
    expect(objectHealth(d).status).toBe('Current');
  });

  it('is InProgress while the controller has not observed the new generation', () => {
    const d = deployment(
      { replicas: 1 },
      { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 },
    );
    const h = objectHealth(d);
    expect(h.status).toBe('InProgress');
    expect(h.message).toContain('generation 2');
  });

  it('is InProgress while replicas are still being updated, and says how many', () => {
    const d = deployment(
      { replicas: 5 },
      { observedGeneration: 2, replicas: 5, updatedReplicas: 2, availableReplicas: 2 },
    );
    expect(objectHealth(d)).toEqual({ status: 'InProgress', message: 'updated replicas: 2/5' });
  });

  it('is InProgress while old replicas are still terminating', () => {
    const d = deployment(
      { replicas: 2 },
      { observedGeneration: 2, replicas: 3, updatedReplicas: 2, availableReplicas: 2 },
    );
    expect(objectHealth(d).message).toContain('pending termination');
  });

  it('defaults spec.replicas to 1', () => {
    const d = deployment(
      {},
      { observedGeneration: 2, replicas: 0, updatedReplicas: 0, availableReplicas: 0 },
    );
    expect(objectHealth(d).status).toBe('InProgress');
  });

  it('is Failed when the progress deadline is exceeded', () => {
    const d = deployment(
      { replicas: 1 },
      {
        observedGeneration: 2,
        conditions: [
          { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'too slow' },
        ],
      },
    );
    expect(objectHealth(d)).toEqual({ status: 'Failed', message: 'too slow' });
  });
});

describe('StatefulSet, DaemonSet and ReplicaSet health', () => {
  it('StatefulSet waits for ready replicas and for the update revision', () => {
    const base = { observedGeneration: 1, replicas: 2, readyReplicas: 2, updatedReplicas: 2 };
    const sts = (status: Record<string, unknown>) =>
      obj('apps/v1', 'StatefulSet', { spec: { replicas: 2 }, status });
    expect(objectHealth(sts({ ...base, readyReplicas: 1 })).status).toBe('InProgress');
    expect(objectHealth(sts({ ...base, currentRevision: 'a', updateRevision: 'b' })).status).toBe(
      'InProgress',
    );
    expect(objectHealth(sts({ ...base, currentRevision: 'b', updateRevision: 'b' })).status).toBe('Current');
  });

  it('StatefulSet with a partition only needs the replicas above it updated', () => {
    const s = obj('apps/v1', 'StatefulSet', {
      spec: { replicas: 3, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } },
      status: {
        observedGeneration: 1,
        replicas: 3,
        readyReplicas: 3,
        updatedReplicas: 1,
        currentRevision: 'a',
        updateRevision: 'b',
      },
    });
    expect(objectHealth(s).status).toBe('Current');
  });

  it('DaemonSet is Current only when every desired pod is scheduled, updated, available and ready', () => {
    const full = {
      observedGeneration: 1,
      desiredNumberScheduled: 3,
      currentNumberScheduled: 3,
      updatedNumberScheduled: 3,
      numberAvailable: 3,
      numberReady: 3,
    };
    const ds = (status: Record<string, unknown>) => obj('apps/v1', 'DaemonSet', { status });
    expect(objectHealth(ds(full)).status).toBe('Current');
    expect(objectHealth(ds({ ...full, numberAvailable: 2 })).message).toBe('available: 2/3');
  });

  it('ReplicaSet is InProgress until its replicas are available', () => {
    const rs = obj('apps/v1', 'ReplicaSet', {
      spec: { replicas: 2 },
      status: { availableReplicas: 1, readyReplicas: 1 },
    });
    expect(objectHealth(rs).status).toBe('InProgress');
  });
});

describe('Job, Pod, PVC, Service and CRD health', () => {
  const withConditions = (apiVersion: string, kind: string, conditions: unknown[]) =>
    obj(apiVersion, kind, { status: { conditions } });

  it('Job is Current when complete, Failed when failed, InProgress otherwise', () => {
    expect(
      objectHealth(withConditions('batch/v1', 'Job', [{ type: 'Complete', status: 'True' }])).status,
    ).toBe('Current');
    expect(
      objectHealth(
        withConditions('batch/v1', 'Job', [
          { type: 'Failed', status: 'True', message: 'BackoffLimitExceeded' },
        ]),
      ),
    ).toEqual({
      status: 'Failed',
      message: 'BackoffLimitExceeded',
    });
    expect(objectHealth(obj('batch/v1', 'Job', { status: { active: 1 } })).status).toBe('InProgress');
  });

  it('Pod is Failed in CrashLoopBackOff even while Running', () => {
    const pod = obj('v1', 'Pod', {
      status: {
        phase: 'Running',
        containerStatuses: [{ name: 'web', state: { waiting: { reason: 'CrashLoopBackOff' } } }],
      },
    });
    expect(objectHealth(pod)).toEqual({ status: 'Failed', message: 'container web: CrashLoopBackOff' });
  });

  it('Pod is Current when running and Ready, InProgress when running but not Ready', () => {
    const pod = (ready: string) =>
      obj('v1', 'Pod', { status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready }] } });
    expect(objectHealth(pod('True')).status).toBe('Current');
    expect(objectHealth(pod('False')).status).toBe('InProgress');
    expect(objectHealth(obj('v1', 'Pod', { status: { phase: 'Succeeded' } })).status).toBe('Current');
  });

  it('PVC is Current when Bound, Failed when Lost', () => {
    expect(objectHealth(obj('v1', 'PersistentVolumeClaim', { status: { phase: 'Bound' } })).status).toBe(
      'Current',
    );
    expect(objectHealth(obj('v1', 'PersistentVolumeClaim', { status: { phase: 'Lost' } })).status).toBe(
      'Failed',
    );
    expect(objectHealth(obj('v1', 'PersistentVolumeClaim', { status: { phase: 'Pending' } })).status).toBe(
      'InProgress',
    );
  });

  it('a LoadBalancer Service waits for an ingress address; a ClusterIP Service is Current at once', () => {
    expect(objectHealth(obj('v1', 'Service', { spec: { type: 'LoadBalancer' }, status: {} })).status).toBe(
      'InProgress',
    );
    expect(
      objectHealth(
        obj('v1', 'Service', {
          spec: { type: 'LoadBalancer' },
          status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } },
        }),
      ).status,
    ).toBe('Current');
    expect(objectHealth(obj('v1', 'Service', { spec: { type: 'ClusterIP' } })).status).toBe('Current');
  });

  it('CRD is Current once Established and Failed when its names are not accepted', () => {
    const crd = (conditions: unknown[]) =>
      withConditions('apiextensions.k8s.io/v1', 'CustomResourceDefinition', conditions);
    expect(objectHealth(crd([{ type: 'Established', status: 'True' }])).status).toBe('Current');
    expect(objectHealth(crd([{ type: 'Established', status: 'False' }])).status).toBe('InProgress');
    expect(
      objectHealth(crd([{ type: 'NamesAccepted', status: 'False', message: 'plural taken' }])).status,
    ).toBe('Failed');
  });
});

describe('generic health', () => {
  it('uses the Ready condition of any kind, with observedGeneration', () => {
    const cr = (status: Record<string, unknown>) => obj('example.com/v1', 'Widget', { status }, 3);
    expect(
      objectHealth(cr({ observedGeneration: 3, conditions: [{ type: 'Ready', status: 'True' }] })).status,
    ).toBe('Current');
    expect(
      objectHealth(cr({ observedGeneration: 2, conditions: [{ type: 'Ready', status: 'True' }] })).status,
    ).toBe('InProgress');
    expect(
      objectHealth(cr({ conditions: [{ type: 'Ready', status: 'False', reason: 'Waiting' }] })).status,
    ).toBe('InProgress');
    expect(
      objectHealth(cr({ conditions: [{ type: 'Ready', status: 'False', reason: 'InstallFailed' }] })).status,
    ).toBe('Failed');
    expect(
      objectHealth(cr({ conditions: [{ type: 'Stalled', status: 'True', message: 'stuck' }] })).status,
    ).toBe('Failed');
  });

  it('falls back to the Available condition', () => {
    const a = obj('example.com/v1', 'Gateway', {
      status: { conditions: [{ type: 'Available', status: 'False' }] },
    });
    expect(objectHealth(a).status).toBe('InProgress');
  });

  it('an object without status (a ConfigMap) is Current; a missing one NotFound; a deleting one Terminating', () => {
    expect(objectHealth(obj('v1', 'ConfigMap', { data: {} })).status).toBe('Current');
    expect(objectHealth(undefined).status).toBe('NotFound');
    const deleting = obj('v1', 'ConfigMap');
    deleting.metadata.deletionTimestamp = '2024-01-01T00:00:00Z';
    expect(objectHealth(deleting).status).toBe('Terminating');
  });
});

describe('sync phase', () => {
  it('summarises object health: any Failed is Degraded, any InProgress Progressing', () => {
    expect(summariseHealth(['Current', 'Failed', 'InProgress'])).toBe('Degraded');
    expect(summariseHealth(['Current', 'InProgress'])).toBe('Progressing');
    expect(summariseHealth(['Current', 'NotFound'])).toBe('Unknown');
    expect(summariseHealth(['Current'])).toBe('Healthy');
    expect(summariseHealth([])).toBe('Healthy');
  });

  it('orders Failed > Degraded > Progressing > OutOfSync > Synced', () => {
    expect(syncPhase({ errors: 1, pending: 1, health: 'Degraded' })).toBe('Failed');
    expect(syncPhase({ errors: 0, pending: 1, health: 'Degraded' })).toBe('Degraded');
    expect(syncPhase({ errors: 0, pending: 1, health: 'Progressing' })).toBe('Progressing');
    expect(syncPhase({ errors: 0, pending: 1, health: 'Healthy' })).toBe('OutOfSync');
    expect(syncPhase({ errors: 0, pending: 0, health: 'Healthy' })).toBe('Synced');
  });
});
