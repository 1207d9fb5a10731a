/**
 * What `bench:peers` looks at in a lab cluster to decide that a tool is done, through the admin
 * identity (so none of it counts as the tools' requests): objects present, Deployments Available,
 * one ConfigMap's value. Lists ask for metadata only, to stay light on a 10,000-object namespace.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { RawKube } from './kube-raw.js';
import { BENCH_NAMESPACE } from './peer-repo.js';

const METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';

interface Listed {
  // null, not [], in an empty PartialObjectMetadataList
  items: { metadata: { name: string; deletionTimestamp?: string } }[] | null;
}

async function listNames(kube: RawKube, path: string, metadataOnly: boolean): Promise<Listed> {
  const res = await kube.request('GET', path, undefined, undefined, metadataOnly ? METADATA_LIST : undefined);
  if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status}: ${res.text.slice(0, 300)}`);
  return JSON.parse(res.text) as Listed;
}

/** Objects of the bench in the cluster: the Namespace, its ConfigMaps, Deployments and Services. */
export async function benchObjects(kube: RawKube): Promise<number> {
  const ns = await kube.get(`/api/v1/namespaces/${BENCH_NAMESPACE}`);
  if (!ns) return 0;
  const paths = [
    `/api/v1/namespaces/${BENCH_NAMESPACE}/configmaps?labelSelector=bench.strata.dev%2Fset%3Dpeers`,
    `/apis/apps/v1/namespaces/${BENCH_NAMESPACE}/deployments`,
    `/api/v1/namespaces/${BENCH_NAMESPACE}/services`,
  ];
  const lists = await Promise.all(paths.map((p) => listNames(kube, p, true)));
  return 1 + lists.reduce((n, l) => n + (l.items?.length ?? 0), 0);
}

/** Deployments of the bench whose Available condition is True. */
export async function availableDeployments(kube: RawKube): Promise<number> {
  const list = await kube.json<{ items: { status?: { conditions?: { type: string; status: string }[] } }[] }>(
    'GET',
    `/apis/apps/v1/namespaces/${BENCH_NAMESPACE}/deployments`,
  );
  return list.items.filter((d) =>
    d.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True'),
  ).length;
}

export async function configMapValue(kube: RawKube, name: string): Promise<string | undefined> {
  const cm = await kube.get<{ data?: { value?: string } }>(
    `/api/v1/namespaces/${BENCH_NAMESPACE}/configmaps/${name}`,
  );
  return cm?.data?.value;
}

/** An edit behind the tools' backs, as `kubectl edit` would make it (its own field manager). */
export async function editConfigMap(kube: RawKube, name: string, value: string): Promise<void> {
  await kube.json(
    'PATCH',
    `/api/v1/namespaces/${BENCH_NAMESPACE}/configmaps/${name}?fieldManager=kubectl-edit`,
    JSON.stringify({ data: { value } }),
    'application/merge-patch+json',
  );
}

/** The run's overall deadline: every wait stops there too. */
let runDeadline = Number.POSITIVE_INFINITY;
export function setRunDeadline(at: number): void {
  runDeadline = at;
}

/**
 * Polls `done` every `everyMs` until it holds; resolves with the milliseconds since `since`.
 * Throws naming `what` after `timeoutMs` or at the run's deadline.
 */
export async function waitUntil(
  what: string,
  done: () => Promise<boolean>,
  opts: { since: number; timeoutMs: number; everyMs?: number },
): Promise<number> {
  const deadline = Math.min(opts.since + opts.timeoutMs, runDeadline);
  for (;;) {
    if (await done()) return performance.now() - opts.since;
    if (performance.now() > deadline) {
      throw new Error(
        `${what}: not done after ${((performance.now() - opts.since) / 1000).toFixed(0)} s${deadline === runDeadline ? ' (the run deadline, --timeout)' : ''}`,
      );
    }
    await sleep(opts.everyMs ?? 50);
  }
}
