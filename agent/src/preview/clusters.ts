import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';
import { ClusterName, Labels } from '../../../contract/report.js';
import type { ClusterIdentity } from '../model/object.js';

/** Cluster identities could not be read: names the file (or hub) and the field. */
export class ClusterListError extends Error {
  constructor(
    readonly where: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${where}: ${message}`, options);
    this.name = 'ClusterListError';
  }
}

const ClustersFile = z.object({
  clusters: z.array(z.looseObject({ name: ClusterName, labels: Labels.default({}) })).max(100_000),
});

function issueText(error: z.ZodError): string {
  const issue = error.issues[0];
  const path = issue?.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('') ?? '';
  return `${path.replace(/^\./, '') || '(file)'}: ${issue?.message ?? 'invalid'}`;
}

function uniqueNames(clusters: ClusterIdentity[], where: string): ClusterIdentity[] {
  const seen = new Set<string>();
  for (const c of clusters) {
    if (seen.has(c.name)) throw new ClusterListError(where, `cluster '${c.name}' is listed twice`);
    seen.add(c.name);
  }
  return clusters;
}

/** `clusters: [{name, labels}]` from a YAML file, validated (names are DNS-1123, labels strings). */
export async function readClustersFile(file: string): Promise<ClusterIdentity[]> {
  let doc: unknown;
  try {
    doc = parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new ClusterListError(file, (e as Error).message, { cause: e });
  }
  const parsed = ClustersFile.safeParse(doc);
  if (!parsed.success) throw new ClusterListError(file, issueText(parsed.error));
  return uniqueNames(
    parsed.data.clusters.map((c) => ({ name: c.name, labels: c.labels })),
    file,
  );
}

const HubClusters = z.object({
  clusters: z.array(z.looseObject({ name: ClusterName, labels: Labels, lastSeen: z.string().nullable() })),
  continue: z.string().nullable().optional(),
});

/** The hub's largest page; a fleet is read page by page, never assumed to fit one. */
const HUB_PAGE = 1000;
/** Pages read at most (a million clusters at the largest page), so a hub that keeps answering "more" cannot hold a preview forever. */
const MAX_PAGES = 1000;

/**
 * Identities of every cluster that has reported to the hub (GET /api/v1/clusters, every page).
 * Clusters with a token that never reported have no known labels and are left out (`silent`).
 */
export async function fetchHubClusters(
  hubUrl: string,
  token: string | undefined,
  fetchImpl: typeof fetch = fetch,
  pageSize = HUB_PAGE,
): Promise<{ clusters: ClusterIdentity[]; silent: string[] }> {
  const base = new URL('api/v1/clusters', hubUrl.endsWith('/') ? hubUrl : `${hubUrl}/`);
  const listed: z.infer<typeof HubClusters>['clusters'] = [];
  let next: string | null | undefined = null;
  for (let page = 0; ; page++) {
    if (page === MAX_PAGES) {
      throw new ClusterListError(base.href, `the hub still had more clusters after ${MAX_PAGES} pages`);
    }
    const url = new URL(base);
    url.searchParams.set('limit', String(pageSize));
    if (next) url.searchParams.set('continue', next);
    const res = await fetchImpl(url, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(30_000),
    }).catch((e: Error) => {
      throw new ClusterListError(url.origin, `cannot reach the hub: ${e.message}`, { cause: e });
    });
    if (!res.ok) throw new ClusterListError(url.href, `the hub answered ${res.status} ${res.statusText}`);
    const parsed = HubClusters.safeParse(await res.json().catch(() => undefined));
    if (!parsed.success)
      throw new ClusterListError(url.href, `unexpected answer: ${issueText(parsed.error)}`);
    listed.push(...parsed.data.clusters);
    next = parsed.data.continue;
    if (!next) break;
  }
  const reported = listed.filter((c) => c.lastSeen !== null);
  return {
    clusters: uniqueNames(
      reported.map((c) => ({ name: c.name, labels: c.labels })),
      base.href,
    ),
    silent: listed.filter((c) => c.lastSeen === null).map((c) => c.name),
  };
}
