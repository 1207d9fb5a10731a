import type { ObjectStatus } from '../../../contract/report.js';
import type { KubeObject } from '../model/object.js';

/** kstatus-like readiness of one object; the report's type, so both sides agree by construction. */
export type { ObjectStatus };

/** One object's status with the message that explains it. */
export interface ObjectHealth {
  status: ObjectStatus;
  message: string;
}

/** A `status.conditions` entry, as far as health reads it. */
export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

type Status = Record<string, unknown>;

const current = (message = ''): ObjectHealth => ({ status: 'Current', message });
const inProgress = (message: string): ObjectHealth => ({ status: 'InProgress', message });
const failed = (message: string): ObjectHealth => ({ status: 'Failed', message });

function statusOf(obj: KubeObject): Status {
  return (obj.status && typeof obj.status === 'object' ? obj.status : {}) as Status;
}

function specOf(obj: KubeObject): Record<string, unknown> {
  return (obj.spec && typeof obj.spec === 'object' ? obj.spec : {}) as Record<string, unknown>;
}

function num(v: unknown, fallback = 0): number {
  return typeof v === 'number' ? v : fallback;
}

/** An object's conditions, or none when `status.conditions` is missing or malformed. */
export function conditionsOf(obj: KubeObject): Condition[] {
  const list = statusOf(obj).conditions;
  return Array.isArray(list) ? (list.filter((c) => c && typeof c.type === 'string') as Condition[]) : [];
}

function condition(obj: KubeObject, type: string): Condition | undefined {
  return conditionsOf(obj).find((c) => c.type === type);
}

/** The controller has not yet looked at the latest spec. */
function staleGeneration(obj: KubeObject): ObjectHealth | undefined {
  const generation = obj.metadata.generation;
  const observed = statusOf(obj).observedGeneration;
  if (typeof generation === 'number' && typeof observed === 'number' && observed < generation) {
    return inProgress(`waiting for the controller to observe generation ${generation} (at ${observed})`);
  }
  return undefined;
}

function deploymentHealth(obj: KubeObject): ObjectHealth {
  const s = statusOf(obj);
  if (typeof s.observedGeneration !== 'number') return inProgress('waiting for the controller');
  const progressing = condition(obj, 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded')
    return failed(progressing.message ?? 'progress deadline exceeded');
  const want = num(specOf(obj).replicas, 1);
  const updated = num(s.updatedReplicas);
  const total = num(s.replicas);
  const available = num(s.availableReplicas);
  if (updated < want) return inProgress(`updated replicas: ${updated}/${want}`);
  if (total > updated) return inProgress(`pending termination: ${total - updated}`);
  if (available < updated) return inProgress(`available replicas: ${available}/${updated}`);
  const availableCond = condition(obj, 'Available');
  if (availableCond && availableCond.status !== 'True')
    return inProgress(availableCond.message ?? 'not available');
  return current(`replicas: ${available}/${want}`);
}

function statefulSetHealth(obj: KubeObject): ObjectHealth {
  const s = statusOf(obj);
  if (typeof s.observedGeneration !== 'number') return inProgress('waiting for the controller');
  const want = num(specOf(obj).replicas, 1);
  const ready = num(s.readyReplicas);
  const strategy = specOf(obj).updateStrategy as
    | { type?: string; rollingUpdate?: { partition?: number } }
    | undefined;
  if (num(s.replicas) < want) return inProgress(`replicas: ${num(s.replicas)}/${want}`);
  if (ready < want) return inProgress(`ready replicas: ${ready}/${want}`);
  if (strategy?.type === 'OnDelete') return current(`ready replicas: ${ready}/${want}`);
  const partition = num(strategy?.rollingUpdate?.partition);
  if (partition > 0) {
    const wantUpdated = want - partition;
    if (num(s.updatedReplicas) < wantUpdated)
      return inProgress(`updated replicas: ${num(s.updatedReplicas)}/${wantUpdated}`);
    return current(`partitioned rollout: ${wantUpdated} updated`);
  }
  if (num(s.updatedReplicas) < want) return inProgress(`updated replicas: ${num(s.updatedReplicas)}/${want}`);
  if (s.currentRevision !== s.updateRevision) return inProgress('waiting for the rolling update to finish');
  return current(`ready replicas: ${ready}/${want}`);
}

function daemonSetHealth(obj: KubeObject): ObjectHealth {
  const s = statusOf(obj);
  if (typeof s.observedGeneration !== 'number') return inProgress('waiting for the controller');
  const want = num(s.desiredNumberScheduled);
  if (num(s.currentNumberScheduled) < want)
    return inProgress(`scheduled: ${num(s.currentNumberScheduled)}/${want}`);
  if (num(s.updatedNumberScheduled) < want)
    return inProgress(`updated: ${num(s.updatedNumberScheduled)}/${want}`);
  if (num(s.numberAvailable) < want) return inProgress(`available: ${num(s.numberAvailable)}/${want}`);
  if (num(s.numberReady) < want) return inProgress(`ready: ${num(s.numberReady)}/${want}`);
  return current(`ready: ${num(s.numberReady)}/${want}`);
}

function replicaSetHealth(obj: KubeObject): ObjectHealth {
  const s = statusOf(obj);
  const failure = condition(obj, 'ReplicaFailure');
  if (failure?.status === 'True') return inProgress(failure.message ?? 'replica failure');
  const want = num(specOf(obj).replicas, 1);
  if (num(s.availableReplicas) < want)
    return inProgress(`available replicas: ${num(s.availableReplicas)}/${want}`);
  if (num(s.readyReplicas) < want) return inProgress(`ready replicas: ${num(s.readyReplicas)}/${want}`);
  return current(`replicas: ${num(s.readyReplicas)}/${want}`);
}

function jobHealth(obj: KubeObject): ObjectHealth {
  const complete = condition(obj, 'Complete');
  if (complete?.status === 'True') return current('job completed');
  const jobFailed = condition(obj, 'Failed');
  if (jobFailed?.status === 'True') return failed(jobFailed.message ?? jobFailed.reason ?? 'job failed');
  const s = statusOf(obj);
  return inProgress(`active: ${num(s.active)}, succeeded: ${num(s.succeeded)}, failed: ${num(s.failed)}`);
}

const BROKEN_WAITING = new Set([
  'CrashLoopBackOff',
  'ImagePullBackOff',
  'ErrImagePull',
  'CreateContainerConfigError',
  'InvalidImageName',
]);

function podHealth(obj: KubeObject): ObjectHealth {
  const s = statusOf(obj);
  const statuses = (Array.isArray(s.containerStatuses) ? s.containerStatuses : []) as {
    name: string;
    state?: { waiting?: { reason?: string; message?: string } };
  }[];
  for (const c of statuses) {
    const reason = c.state?.waiting?.reason;
    if (reason && BROKEN_WAITING.has(reason)) return failed(`container ${c.name}: ${reason}`);
  }
  switch (s.phase) {
    case 'Succeeded':
      return current('pod succeeded');
    case 'Failed':
      return failed(typeof s.message === 'string' ? s.message : 'pod failed');
    case 'Running':
      return condition(obj, 'Ready')?.status === 'True'
        ? current('pod running and ready')
        : inProgress('pod not ready');
    default:
      return inProgress(`pod phase: ${String(s.phase ?? 'Pending')}`);
  }
}

function pvcHealth(obj: KubeObject): ObjectHealth {
  const phase = statusOf(obj).phase;
  if (phase === 'Bound') return current('bound');
  if (phase === 'Lost') return failed('claim lost its volume');
  return inProgress(`phase: ${String(phase ?? 'Pending')}`);
}

function serviceHealth(obj: KubeObject): ObjectHealth {
  if (specOf(obj).type !== 'LoadBalancer') return current();
  const lb = statusOf(obj).loadBalancer as { ingress?: unknown[] } | undefined;
  return lb?.ingress?.length
    ? current('load balancer ready')
    : inProgress('waiting for a load balancer address');
}

function crdHealth(obj: KubeObject): ObjectHealth {
  const names = condition(obj, 'NamesAccepted');
  if (names?.status === 'False') return failed(names.message ?? 'names not accepted');
  return condition(obj, 'Established')?.status === 'True'
    ? current('established')
    : inProgress('not established yet');
}

/** Any other kind: Reconciling/Stalled (kstatus), then Ready or Available conditions. */
function genericHealth(obj: KubeObject): ObjectHealth {
  const stalled = condition(obj, 'Stalled');
  if (stalled?.status === 'True') return failed(stalled.message ?? 'stalled');
  const reconciling = condition(obj, 'Reconciling');
  if (reconciling?.status === 'True') return inProgress(reconciling.message ?? 'reconciling');
  const ready = condition(obj, 'Ready') ?? condition(obj, 'Available');
  if (!ready) return current();
  if (ready.status === 'True') return current(ready.message ?? '');
  if (ready.status === 'False' && /fail|error/i.test(ready.reason ?? '')) {
    return failed(ready.message ?? ready.reason ?? `${ready.type} is False`);
  }
  return inProgress(ready.message ?? `${ready.type} is ${ready.status}`);
}

type Check = (obj: KubeObject) => ObjectHealth;

const BY_KIND: Record<string, Check> = {
  'apps/Deployment': deploymentHealth,
  'apps/StatefulSet': statefulSetHealth,
  'apps/DaemonSet': daemonSetHealth,
  'apps/ReplicaSet': replicaSetHealth,
  'batch/Job': jobHealth,
  '/Pod': podHealth,
  '/PersistentVolumeClaim': pvcHealth,
  '/Service': serviceHealth,
  'apiextensions.k8s.io/CustomResourceDefinition': crdHealth,
};

/** Readiness of a live object; NotFound when there is no object to judge. */
export function objectHealth(obj: KubeObject | undefined): ObjectHealth {
  if (!obj) return { status: 'NotFound', message: 'object not found' };
  if (obj.metadata.deletionTimestamp) return { status: 'Terminating', message: 'being deleted' };
  const group = obj.apiVersion.includes('/') ? obj.apiVersion.slice(0, obj.apiVersion.indexOf('/')) : '';
  const check = BY_KIND[`${group}/${obj.kind}`];
  if (check) return staleGeneration(obj) ?? check(obj);
  return staleGeneration(obj) ?? genericHealth(obj);
}
