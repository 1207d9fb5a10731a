import { z } from 'zod';
import { KubeCapabilities } from '../../../contract/report.js';
import type { ClusterCapabilities } from '../render/helm-render.js';

const ClusterDetail = z.looseObject({ report: z.looseObject({ kube: KubeCapabilities.optional() }) });

/** Requests to the hub at once: a fleet of thousands is read in bounded steps. */
const CONCURRENCY = 8;

/**
 * Each cluster's Kubernetes and API versions from its latest report at the hub
 * (GET /api/v1/clusters/NAME, `report.kube`), so charts render in a preview as that cluster's
 * agent renders them. A cluster whose report carries none (an older agent, discovery not yet
 * done) or whose detail cannot be read is listed in `missing` and renders with helm's defaults.
 */
export async function fetchHubCapabilities(
  hubUrl: string,
  token: string | undefined,
  names: readonly string[],
  fetchImpl: typeof fetch = fetch,
): Promise<{ capabilities: Map<string, ClusterCapabilities>; missing: string[] }> {
  const base = hubUrl.endsWith('/') ? hubUrl : `${hubUrl}/`;
  const capabilities = new Map<string, ClusterCapabilities>();
  const missing: string[] = [];
  const one = async (name: string) => {
    const url = new URL(`api/v1/clusters/${encodeURIComponent(name)}`, base);
    try {
      const res = await fetchImpl(url, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
        signal: AbortSignal.timeout(30_000),
      });
      const parsed = res.ok ? ClusterDetail.safeParse(await res.json()) : undefined;
      const kube = parsed?.success ? parsed.data.report.kube : undefined;
      if (kube) capabilities.set(name, { kubeVersion: kube.version, apiVersions: kube.apiVersions });
      else missing.push(name);
    } catch {
      missing.push(name);
    }
  };
  for (let i = 0; i < names.length; i += CONCURRENCY) {
    await Promise.all(names.slice(i, i + CONCURRENCY).map(one));
  }
  return { capabilities, missing: missing.sort() };
}
