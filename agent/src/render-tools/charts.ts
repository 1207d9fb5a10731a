import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { ChartFetch, ChartStore, RemoteChart } from '../render/tools.js';
import { every, type PruneLimits, pruneFolder, touch } from './prune.js';

/**
 * The folder's bounds: a month unused, 1 GiB in all. A pruned chart is fetched again when a render
 * needs it; while its source is unreachable that render fails (SourceUnavailable) and the agent
 * keeps its last good commit, so the month is long on purpose.
 */
export const CHART_STORE_LIMITS: PruneLimits = { maxAgeMs: 30 * 24 * 3600_000, maxBytes: 1024 ** 3 };
const PRUNE_EVERY_MS = 10 * 60_000;

/** Credentials for one chart source, read from files at each use (a rotated Secret is picked up). */
export interface ChartCredential {
  /** Applies to chart sources whose URL starts with this (`https://charts.example.com/`, `oci://registry.example.com/team/`). */
  url: string;
  tokenFile?: string;
  username?: string;
  usernameFile?: string;
  passwordFile?: string;
}

/** Where charts are cached, which repositories need credentials, and the fetch limits. */
export interface ChartStoreOptions {
  /** Where fetched charts are kept by digest (the agent's state directory), with the index of what each source gave. */
  dir: string;
  credentials?: readonly ChartCredential[];
  /** Per request (default 30 s). */
  timeoutMs?: number;
  /** Largest chart archive or repository index accepted (default 20 MiB). */
  maxBytes?: number;
  /** How much `dir` may keep (default CHART_STORE_LIMITS). */
  limits?: PruneLimits;
  now?: () => number;
}

const HELM_LAYER = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip';
const MANIFEST_TYPES =
  'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';

const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

class FetchFailure extends Error {
  constructor(
    readonly reason: Extract<ChartFetch, { ok: false }>['reason'],
    message: string,
  ) {
    super(message);
  }
}

/** A registry on loopback speaks plain HTTP, as `helm push --plain-http` does; any other host, HTTPS. */
function ociBase(ref: string): { base: string; repository: string } {
  const rest = ref.slice('oci://'.length);
  const slash = rest.indexOf('/');
  const host = rest.slice(0, slash);
  const hostname = host.replace(/:\d+$/, '');
  const loopback = hostname === 'localhost' || hostname.startsWith('127.') || hostname === '[::1]';
  return { base: `${loopback ? 'http' : 'https'}://${host}`, repository: rest.slice(slash + 1) };
}

const sourceUrl = (chart: RemoteChart) => (chart.type === 'repo' ? `${chart.url}/` : `${chart.ref}/`);

/**
 * Charts from HTTP(S) chart repositories and OCI registries, fetched once into `dir` and verified
 * against their digest (the repository index's, the registry manifest's, and a pinned
 * `chart.digest` when the HelmChart gives one). A chart already fetched is served from `dir` without
 * network, so a source that goes away does not stop a render of what it served before.
 */
export function createChartStore(
  options: ChartStoreOptions,
): ChartStore & { readonly stats: { downloads: number } } {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxBytes = options.maxBytes ?? 20 * 1024 * 1024;
  const stats = { downloads: 0 };
  const indexFile = join(options.dir, 'index.json');
  let index: Promise<Record<string, string>> | undefined;
  const loadIndex = () =>
    (index ??= readFile(indexFile, 'utf8')
      .then((t) => JSON.parse(t) as Record<string, string>)
      .catch((): Record<string, string> => ({})));
  const keyOf = (c: RemoteChart) =>
    c.type === 'repo' ? `${c.url} ${c.name} ${c.version}` : `${c.ref} ${c.version}`;
  const now = options.now ?? Date.now;
  const writeIndex = async (current: Record<string, string>) => {
    index = Promise.resolve(current);
    await mkdir(options.dir, { recursive: true });
    await writeFile(`${indexFile}.tmp`, JSON.stringify(current, null, 1));
    await rename(`${indexFile}.tmp`, indexFile);
  };
  // Archives unused past the limits go, and with them the index entries that named them.
  const prune = every(
    PRUNE_EVERY_MS,
    async () => {
      const removed = await pruneFolder(options.dir, '.tgz', options.limits ?? CHART_STORE_LIMITS, now());
      if (removed.length === 0) return;
      const gone = new Set(removed.map((name) => name.replace(/\.tgz$/, '').replace('-', ':')));
      const current = await loadIndex();
      await writeIndex(Object.fromEntries(Object.entries(current).filter(([, digest]) => !gone.has(digest))));
    },
    now,
  );

  const authHeader = async (url: string): Promise<string | undefined> => {
    const cred = [...(options.credentials ?? [])]
      .filter((c) => url.startsWith(c.url))
      .sort((a, b) => b.url.length - a.url.length)[0];
    if (!cred) return undefined;
    if (cred.tokenFile) return `Bearer ${(await readFile(cred.tokenFile, 'utf8')).trim()}`;
    const user = cred.usernameFile
      ? (await readFile(cred.usernameFile, 'utf8')).trim()
      : (cred.username ?? '');
    const pass = cred.passwordFile ? (await readFile(cred.passwordFile, 'utf8')).trim() : '';
    return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  };

  const get = async (url: string, headers: Record<string, string>): Promise<Response> => {
    try {
      return await fetch(url, { headers, redirect: 'follow', signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      throw new FetchFailure(
        'SourceUnavailable',
        `cannot reach ${new URL(url).origin}: ${(e as Error).cause ? String((e as Error & { cause: Error }).cause.message) : (e as Error).message}`,
      );
    }
  };

  const body = async (res: Response, what: string): Promise<Uint8Array> => {
    if (res.status === 401 || res.status === 403)
      throw new FetchFailure(
        'AuthFailed',
        `${what}: HTTP ${res.status} (check the chart source's credentials)`,
      );
    if (res.status === 404) throw new FetchFailure('NotFound', `${what}: not found (HTTP 404)`);
    if (!res.ok)
      throw new FetchFailure(
        res.status >= 500 ? 'SourceUnavailable' : 'NotFound',
        `${what}: HTTP ${res.status}`,
      );
    const length = Number(res.headers.get('content-length') ?? 0);
    if (length > maxBytes)
      throw new FetchFailure('NotFound', `${what}: ${length} bytes, over the ${maxBytes}-byte limit`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.byteLength > maxBytes)
      throw new FetchFailure('NotFound', `${what}: over the ${maxBytes}-byte limit`);
    return bytes;
  };

  /**
   * One request, with the credentials configured for `source` (the chart's repository URL or OCI
   * reference); a registry's Bearer challenge is answered once, with the same credentials.
   */
  const request = async (
    url: string,
    what: string,
    source: string | undefined,
    accept?: string,
  ): Promise<Uint8Array> => {
    const headers: Record<string, string> = accept ? { accept } : {};
    const auth = source === undefined ? undefined : await authHeader(source);
    if (auth) headers.authorization = auth;
    let res = await get(url, headers);
    const challenge = res.headers.get('www-authenticate') ?? '';
    if (res.status === 401 && /^Bearer /i.test(challenge)) {
      const params = Object.fromEntries(
        [...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]),
      );
      if (params.realm) {
        const tokenUrl = new URL(params.realm);
        if (params.service) tokenUrl.searchParams.set('service', params.service);
        if (params.scope) tokenUrl.searchParams.set('scope', params.scope);
        const tokenRes = await get(tokenUrl.href, auth ? { authorization: auth } : {});
        const token = JSON.parse(new TextDecoder().decode(await body(tokenRes, 'registry token'))) as {
          token?: string;
          access_token?: string;
        };
        res = await get(url, {
          ...headers,
          authorization: `Bearer ${token.token ?? token.access_token ?? ''}`,
        });
      }
    }
    return body(res, what);
  };

  const fromRepo = async (chart: Extract<RemoteChart, { type: 'repo' }>) => {
    const indexText = new TextDecoder().decode(
      await request(`${chart.url}/index.yaml`, `${chart.url}/index.yaml`, `${chart.url}/`),
    );
    const repoIndex = parse(indexText, { maxAliasCount: 100 }) as {
      entries?: Record<string, { version?: string; urls?: string[]; digest?: string }[]>;
    };
    const entry = repoIndex?.entries?.[chart.name]?.find((e) => e.version === chart.version);
    if (!entry?.urls?.[0])
      throw new FetchFailure(
        'NotFound',
        `chart ${chart.name} ${chart.version} is not in ${chart.url}/index.yaml`,
      );
    const url = new URL(entry.urls[0], `${chart.url}/`).href;
    // Archives may live on another host than the index: credentials go only where they were configured for.
    const sameOrigin = new URL(url).origin === new URL(chart.url).origin;
    const bytes = await request(url, url, sameOrigin ? url : undefined);
    const expected = entry.digest ? `sha256:${entry.digest}` : undefined;
    return { bytes, expected };
  };

  const fromRegistry = async (chart: Extract<RemoteChart, { type: 'oci' }>) => {
    const { base, repository } = ociBase(chart.ref);
    const manifestText = new TextDecoder().decode(
      await request(
        `${base}/v2/${repository}/manifests/${encodeURIComponent(chart.version)}`,
        `${chart.ref}:${chart.version}`,
        `${chart.ref}/`,
        MANIFEST_TYPES,
      ),
    );
    const manifest = JSON.parse(manifestText) as { layers?: { mediaType?: string; digest?: string }[] };
    const layer = manifest.layers?.find((l) => l.mediaType === HELM_LAYER);
    if (!layer?.digest)
      throw new FetchFailure(
        'NotFound',
        `${chart.ref}:${chart.version} is not a Helm chart (no ${HELM_LAYER} layer)`,
      );
    const bytes = await request(
      `${base}/v2/${repository}/blobs/${layer.digest}`,
      `${chart.ref}@${layer.digest}`,
      `${chart.ref}/`,
    );
    return { bytes, expected: layer.digest };
  };

  const download = async (chart: RemoteChart) => {
    stats.downloads++;
    const { bytes, expected } = chart.type === 'repo' ? await fromRepo(chart) : await fromRegistry(chart);
    const digest = sha256(bytes);
    if (expected && digest !== expected)
      throw new FetchFailure(
        'DigestMismatch',
        `the archive's digest is ${digest}, the source says ${expected}`,
      );
    return { bytes, digest };
  };

  const stored = async (digest: string): Promise<Uint8Array | undefined> => {
    try {
      const file = join(options.dir, `${digest.replace(':', '-')}.tgz`);
      const bytes = new Uint8Array(await readFile(file));
      if (sha256(bytes) !== digest) return undefined;
      await touch(file, now());
      return bytes;
    } catch {
      return undefined;
    }
  };

  const inFlight = new Map<string, Promise<ChartFetch>>();

  const fetchChart = async (chart: RemoteChart): Promise<ChartFetch> => {
    await prune();
    const key = keyOf(chart);
    const known = (await loadIndex())[key];
    if (known && (!chart.digest || chart.digest === known)) {
      const bytes = await stored(known);
      if (bytes) return { ok: true, archive: { bytes, digest: known } };
    }
    try {
      const { bytes, digest } = await download(chart);
      if (chart.digest && digest !== chart.digest)
        return {
          ok: false,
          reason: 'DigestMismatch',
          message: `the archive's digest is ${digest}, the HelmChart pins ${chart.digest}`,
        };
      await mkdir(options.dir, { recursive: true });
      const file = join(options.dir, `${digest.replace(':', '-')}.tgz`);
      await writeFile(`${file}.tmp`, bytes);
      await rename(`${file}.tmp`, file);
      await writeIndex({ ...(await loadIndex()), [key]: digest });
      return { ok: true, archive: { bytes, digest } };
    } catch (e) {
      if (e instanceof FetchFailure)
        return {
          ok: false,
          reason: e.reason,
          message: `${sourceUrl(chart).replace(/\/$/, '')}: ${e.message}`,
        };
      throw e;
    }
  };

  return {
    stats,
    fetch(chart) {
      const key = `${keyOf(chart)} ${chart.digest ?? ''}`;
      let pending = inFlight.get(key);
      if (!pending) {
        pending = fetchChart(chart).finally(() => inFlight.delete(key));
        inFlight.set(key, pending);
      }
      return pending;
    },
  };
}
