import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatRenderError, type RenderResult, renderCluster } from '../../../agent/src/render/index.js';
import { createChartStore } from '../../../agent/src/render-tools/charts.js';
import { createToolRunner } from '../../../agent/src/render-tools/runner.js';
import { FolderTree } from '../../../agent/src/source/folder.js';
import { eventually } from '../../support/eventually.js';
import { toolPath } from '../../support/tools.js';
import { hz, type RepoFile, writeRepo } from '../render/helpers.js';

const helm = toolPath('helm');
const registryBin = toolPath('registry');
const temp = (name: string) => mkdtempSync(join(tmpdir(), `strata-${name}-`));

const CHART: Record<string, string> = {
  'Chart.yaml': 'apiVersion: v2\nname: web\nversion: 0.3.0\n',
  'values.yaml': 'replicaCount: 1\nregion: none\n',
  'templates/deployment.yaml': `apiVersion: apps/v1
kind: Deployment
metadata: { name: {{ .Release.Name }}, labels: { region: {{ .Values.region | quote }} } }
spec:
  replicas: {{ .Values.replicaCount }}
  selector: { matchLabels: { app: web } }
  template: { metadata: { labels: { app: web } }, spec: { containers: [{ name: web, image: web:1 }] } }
`,
};

const helmEnv = (home: string) => ({
  ...process.env,
  HOME: home,
  HELM_CONFIG_HOME: join(home, 'c'),
  HELM_CACHE_HOME: join(home, 'k'),
  HELM_DATA_HOME: join(home, 'd'),
});

/** `helm package` of the chart: the archive a chart repository or registry serves. */
function packageChart(): { dir: string; tgz: string } {
  const src = temp('chart-src');
  for (const [p, t] of Object.entries(CHART)) {
    mkdirSync(join(src, 'web', p, '..'), { recursive: true });
    writeFileSync(join(src, 'web', p), t);
  }
  const dir = temp('chart-repo');
  execFileSync(helm, ['package', join(src, 'web'), '-d', dir], {
    env: helmEnv(temp('helm-home')),
    stdio: 'ignore',
  });
  return { dir, tgz: join(dir, 'web-0.3.0.tgz') };
}

function fleet(chart: string): Record<string, RepoFile> {
  return {
    'strata.yaml':
      'apiVersion: strata.dev/v1\nkind: Fleet\nlayers:\n  - path: global\n  - path: regions/{labels.region}\n',
    'global/web.yaml': `apiVersion: strata.dev/v1\nkind: HelmChart\nmetadata: { name: web, namespace: shop }\nchart: ${chart}\nvalues: { replicaCount: 2 }\n`,
    'regions/cn-hangzhou/web.yaml':
      'apiVersion: strata.dev/v1\nkind: Patch\ntarget: { kind: HelmChart, name: web }\nmerge: { values: { region: cn-hangzhou } }\n',
  };
}

async function renderWith(chart: string, store: ReturnType<typeof createChartStore>): Promise<RenderResult> {
  const runner = createToolRunner({ binaries: { helm }, workDir: temp('work') });
  return renderCluster(new FolderTree(writeRepo(fleet(chart))), hz, { tools: { runner, charts: store } });
}

function deploymentOf(result: RenderResult) {
  if (!result.ok) throw new Error(result.errors.map(formatRenderError).join('\n'));
  return result.objects.find((o) => o.id === 'apps/Deployment/shop/web')!.object as any;
}

async function freePort(): Promise<number> {
  const s = netServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('charts from an HTTP chart repository', () => {
  let server: Server;
  let url: string;
  let requests: string[];
  const creds = temp('creds');
  writeFileSync(join(creds, 'password'), 's3cret\n');

  beforeAll(async () => {
    const { dir } = packageChart();
    requests = [];
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      if (req.headers.authorization !== `Basic ${Buffer.from('fleet:s3cret').toString('base64')}`) {
        res.writeHead(401).end();
        return;
      }
      try {
        res.end(readFileSync(join(dir, (req.url ?? '/').slice(1))));
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    execFileSync(helm, ['repo', 'index', dir, '--url', url], { env: helmEnv(temp('helm-home')) });
  });
  afterAll(() => server?.close());

  const credentials = () => [{ url: `${url}/`, username: 'fleet', passwordFile: join(creds, 'password') }];

  it('renders a chart from the repository index, with credentials from files, fetched once into the state folder', async () => {
    const dir = temp('charts');
    const store = createChartStore({ dir, credentials: credentials() });
    const web = deploymentOf(await renderWith(`{ repo: "${url}", name: web, version: 0.3.0 }`, store));
    expect(web.spec.replicas).toBe(2);
    expect(web.metadata.labels.region).toBe('cn-hangzhou');
    expect(store.stats.downloads).toBe(1);
    expect(requests).toEqual(['/index.yaml', '/web-0.3.0.tgz']);
    // A new agent process with the same state folder needs no network for that version.
    server.closeAllConnections();
    const again = createChartStore({ dir, credentials: [] });
    deploymentOf(await renderWith(`{ repo: "${url}", name: web, version: 0.3.0 }`, again));
    expect(again.stats.downloads).toBe(0);
    expect(requests).toHaveLength(2);
  });

  it('refuses an archive whose digest is not the pinned one', async () => {
    const store = createChartStore({ dir: temp('charts'), credentials: credentials() });
    const pinned = `sha256:${'0'.repeat(64)}`;
    const result = await renderWith(
      `{ repo: "${url}", name: web, version: 0.3.0, digest: "${pinned}" }`,
      store,
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(formatRenderError(result.errors[0]!)).toMatch(
      /^global\/web\.yaml:4:8 \(doc 0\): strata\.dev\/HelmChart\/shop\/web: helm: .* web 0\.3\.0: the archive's digest is sha256:[0-9a-f]{64}, the HelmChart pins sha256:0{64}$/,
    );
  });

  it('says the source is unavailable, naming the HelmChart, when a chart it has not fetched cannot be reached', async () => {
    const port = await freePort();
    const store = createChartStore({ dir: temp('charts'), timeoutMs: 5000 });
    const result = await renderWith(`{ repo: "http://127.0.0.1:${port}", name: web, version: 0.3.0 }`, store);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]!.code).toBe('source');
    expect(formatRenderError(result.errors[0]!)).toMatch(
      /^global\/web\.yaml:4:8 \(doc 0\): strata\.dev\/HelmChart\/shop\/web: helm: .*cannot reach http:\/\/127\.0\.0\.1:\d+/,
    );
  });

  it('fails with the credentials missing, saying so', async () => {
    const store = createChartStore({ dir: temp('charts') });
    const result = await renderWith(`{ repo: "${url}", name: web, version: 0.3.0 }`, store);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(formatRenderError(result.errors[0]!)).toContain("HTTP 401 (check the chart source's credentials)");
  });
});

describe('charts from an OCI registry', () => {
  let registry: ReturnType<typeof spawn> | undefined;
  let host: string;

  beforeAll(async () => {
    const port = await freePort();
    host = `127.0.0.1:${port}`;
    const root = temp('registry');
    const config = join(root, 'config.yml');
    writeFileSync(
      config,
      `version: 0.1\nlog: { level: error }\nstorage: { filesystem: { rootdirectory: ${join(root, 'data')} } }\nhttp: { addr: "${host}" }\n`,
    );
    registry = spawn(registryBin, ['serve', config], { stdio: 'ignore' });
    await eventually('the registry to listen', 20_000, async () => {
      const res = await fetch(`http://${host}/v2/`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    });
    const { tgz } = packageChart();
    execFileSync(helm, ['push', tgz, `oci://${host}/charts`, '--plain-http'], {
      env: helmEnv(temp('helm-home')),
      stdio: 'pipe',
    });
  }, 60_000);
  afterAll(() => {
    registry?.kill('SIGTERM');
  });

  it('renders a chart pushed with helm push, verified by the manifest digest, fetched once', async () => {
    const dir = temp('charts');
    const store = createChartStore({ dir });
    const web = deploymentOf(await renderWith(`{ oci: "oci://${host}/charts/web", version: 0.3.0 }`, store));
    expect(web.metadata.labels.region).toBe('cn-hangzhou');
    expect(store.stats.downloads).toBe(1);
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as Record<string, string>;
    expect(index[`oci://${host}/charts/web 0.3.0`]).toMatch(/^sha256:[0-9a-f]{64}$/);
    // Registry stopped: the version already fetched still renders.
    registry?.kill('SIGTERM');
    const again = createChartStore({ dir });
    deploymentOf(await renderWith(`{ oci: "oci://${host}/charts/web", version: 0.3.0 }`, again));
    expect(again.stats.downloads).toBe(0);
  });
});
