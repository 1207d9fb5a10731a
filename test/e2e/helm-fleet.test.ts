// A fleet whose layers hold a Helm chart (values stacked by region and cluster) and a kustomize
// overlay, applied by `strata apply` with the real helm and kustomize to two lab clusters with
// different labels: the live objects differ exactly as their stacked values do.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeApiClient } from '../../agent/src/kube/client.js';
import { toolPath } from '../support/tools.js';
import { labCluster } from './support/lab.js';
import { cleanUp, labClient, PARENT_NAMESPACE } from './sync-fixtures.js';

const run = promisify(execFile);
const CLI = resolve('agent/src/cli.ts');
const NS = 'e2e-helm-fleet';
const APPLYSET = 'e2e-helm-fleet';

const FILES: Record<string, string> = {
  'strata.yaml': `apiVersion: strata.dev/v1
kind: Fleet
layers:
  - path: global
  - path: regions/{labels.region}
  - path: clusters/{name}
`,
  'charts/web/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 1.0.0\n',
  'charts/web/values.yaml': 'replicaCount: 1\nregion: none\nimage: { tag: "1.0" }\n',
  'charts/web/templates/deployment.yaml': `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, labels: { app: web, region: {{ .Values.region | quote }} } }
spec:
  replicas: {{ .Values.replicaCount }}
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: "registry.example.com/web:{{ .Values.image.tag }}"
          env: [{ name: CLUSTER, value: {{ .Values.cluster | quote }} }]
`,
  'global/namespace.yaml': `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${NS} }\n`,
  'global/web.yaml': `apiVersion: strata.dev/v1
kind: HelmChart
metadata: { name: web, namespace: ${NS} }
chart: { path: charts/web }
values:
  replicaCount: 2
  cluster: \${cluster.name}
`,
  'global/settings/kustomization.yaml': `namespace: ${NS}
configMapGenerator:
  - name: settings
    literals: [mode=fleet]
generatorOptions: { disableNameSuffixHash: true }
`,
  'regions/cn-hangzhou/web.yaml': `apiVersion: strata.dev/v1
kind: Patch
target: { kind: HelmChart, name: web }
merge: { values: { region: cn-hangzhou, replicaCount: 3 } }
`,
  'regions/cn-shanghai/web.yaml': `apiVersion: strata.dev/v1
kind: Patch
target: { kind: HelmChart, name: web }
merge: { values: { region: cn-shanghai, image: { tag: "1.1" } } }
`,
  'clusters/prod-sh/settings.yaml': `apiVersion: strata.dev/v1
kind: Patch
target: { kind: ConfigMap, name: settings, namespace: ${NS} }
merge: { data: { mode: canary } }
`,
};

const CLUSTERS = [
  { lab: 'hz', name: 'prod-hz', labels: 'region=cn-hangzhou' },
  { lab: 'sh', name: 'prod-sh', labels: 'region=cn-shanghai' },
] as const;

let repo: string;
const clients = new Map<string, KubeApiClient>();

async function apply(c: (typeof CLUSTERS)[number]) {
  const args = ['--import', 'tsx', CLI, 'apply', '--repo', repo, '--cluster', c.name, '--labels', c.labels];
  args.push(
    '--kubeconfig',
    labCluster(c.lab).kubeconfigPath,
    '--applyset',
    APPLYSET,
    '--applyset-namespace',
    PARENT_NAMESPACE,
  );
  const env = {
    ...process.env,
    STRATA_HELM: toolPath('helm'),
    STRATA_KUSTOMIZE: toolPath('kustomize'),
    NO_COLOR: '1',
  };
  return run(process.execPath, args, { env });
}

beforeAll(async () => {
  repo = await mkdtemp(join(tmpdir(), 'strata-helm-fleet-'));
  for (const [path, text] of Object.entries(FILES)) {
    await mkdir(dirname(join(repo, path)), { recursive: true });
    await writeFile(join(repo, path), text);
  }
  for (const c of CLUSTERS) {
    const client = labClient(c.lab);
    clients.set(c.lab, client);
    await cleanUp(client, NS, APPLYSET);
  }
});

afterAll(async () => {
  for (const client of clients.values()) {
    await cleanUp(client, NS, APPLYSET);
    client.close();
  }
  await rm(repo, { recursive: true, force: true });
});

describe('a chart-based fleet on two clusters', { timeout: 300_000 }, () => {
  it('applies each cluster its own stacked values, and the live objects differ exactly as they do', async () => {
    for (const c of CLUSTERS) {
      const { stdout } = await apply(c);
      expect(stdout).toContain('0 error(s)');
    }
    const live = async (lab: string) => {
      const client = clients.get(lab)!;
      const web = (await client.get({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        namespace: NS,
        name: 'web',
      })) as any;
      const settings = await client.get({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: NS,
        name: 'settings',
      });
      const container = web.spec.template.spec.containers[0];
      return {
        replicas: web.spec.replicas,
        region: web.metadata.labels.region,
        image: container.image,
        cluster: container.env[0].value,
        mode: (settings?.data as Record<string, string> | undefined)?.mode,
      };
    };
    expect(await live('hz')).toEqual({
      replicas: 3,
      region: 'cn-hangzhou',
      image: 'registry.example.com/web:1.0',
      cluster: 'prod-hz',
      mode: 'fleet',
    });
    expect(await live('sh')).toEqual({
      replicas: 2,
      region: 'cn-shanghai',
      image: 'registry.example.com/web:1.1',
      cluster: 'prod-sh',
      mode: 'canary',
    });
  });

  it('a values change in one region changes only that region, and a second apply changes nothing', async () => {
    await writeFile(
      join(repo, 'regions/cn-shanghai/web.yaml'),
      FILES['regions/cn-shanghai/web.yaml']!.replace(
        'region: cn-shanghai,',
        'region: cn-shanghai, replicaCount: 4,',
      ),
    );
    const hz = await apply(CLUSTERS[0]);
    expect(hz.stdout).toMatch(/0 created, 0 updated, 0 replaced, 0 pruned, \d+ unchanged, 0 error\(s\)/);
    const sh = await apply(CLUSTERS[1]);
    expect(sh.stdout).toMatch(/0 created, 1 updated, 0 replaced, 0 pruned, \d+ unchanged, 0 error\(s\)/);
    const web = (await clients
      .get('sh')!
      .get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'web' })) as any;
    expect(web.spec.replicas).toBe(4);
  });
});
