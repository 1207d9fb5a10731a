// biome-ignore-all lint/suspicious/noTemplateCurlyInString: fleet YAML writes ${cluster.…} variables
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ClusterIdentity } from '../../../agent/src/model/object.js';
import {
  createRenderer,
  explainRender,
  formatRenderError,
  toYamlStream,
} from '../../../agent/src/render/index.js';
import { createToolRunner } from '../../../agent/src/render-tools/runner.js';
import { FolderTree } from '../../../agent/src/source/folder.js';
import { toolPath } from '../../support/tools.js';

const FLEET = new URL('../../../examples/fleet/', import.meta.url).pathname;
const GOLDEN = new URL('./golden/', import.meta.url).pathname;
const { clusters } = parse(readFileSync(`${FLEET}clusters.yaml`, 'utf8')) as { clusters: ClusterIdentity[] };
// The fleet holds a kustomize overlay (global/cache) and a Helm chart (global/api): the real tools.
const runner = createToolRunner({ binaries: { kustomize: toolPath('kustomize'), helm: toolPath('helm') } });
const renderer = createRenderer(new FolderTree(FLEET), { tools: { runner } });

async function render(name: string) {
  const cluster = clusters.find((c) => c.name === name)!;
  const result = await renderer.render(cluster);
  if (!result.ok) throw new Error(result.errors.map(formatRenderError).join('\n'));
  return { cluster, result };
}

/** Compares with the committed golden file; `UPDATE_GOLDEN=1` rewrites it (review the diff!). */
function expectGolden(file: string, actual: string) {
  const path = GOLDEN + file;
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(path)) writeFileSync(path, actual);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

type Web = {
  spec: {
    replicas: number;
    template: { spec: { containers: { image: string; env?: unknown[]; ports: unknown[] }[] } };
  };
};
const webOf = (objects: { id: string; object: unknown }[]) =>
  objects.find((o) => o.id === 'apps/Deployment/shop/web')!.object as unknown as Web;

describe('example fleet', () => {
  it('lists the clusters the demo uses', () => {
    expect(clusters.map((c) => c.name)).toEqual(['prod-hz', 'prod-sh', 'staging', 'edge-1']);
  });

  it.each(clusters.map((c) => c.name))('%s matches its golden render and explanation', async (name) => {
    const { cluster, result } = await render(name);
    expectGolden(`${name}.yaml`, toYamlStream(result.objects));
    expectGolden(`${name}.explain.txt`, explainRender(cluster, result));
  });

  it('prod-hz runs 5 replicas from the Hangzhou registry, ports intact', async () => {
    const web = webOf((await render('prod-hz')).result.objects);
    expect(web.spec.replicas).toBe(5);
    expect(web.spec.template.spec.containers[0]!.image).toBe(
      'registry-cn-hangzhou.example.com/shop/web:1.25',
    );
    expect(web.spec.template.spec.containers[0]!.ports).toEqual([{ name: 'http', containerPort: 8080 }]);
  });

  it('prod-sh runs 3 replicas from the global registry', async () => {
    const web = webOf((await render('prod-sh')).result.objects);
    expect(web.spec.replicas).toBe(3);
    expect(web.spec.template.spec.containers[0]!.image).toBe('registry.example.com/shop/web:1.25');
  });

  it('staging runs 1 replica with the debug flag and no PodDisruptionBudget', async () => {
    const { result } = await render('staging');
    const web = webOf(result.objects);
    expect(web.spec.replicas).toBe(1);
    expect(web.spec.template.spec.containers[0]!.env).toEqual([{ name: 'DEBUG', value: 'true' }]);
    expect(web.spec.template.spec.containers[0]!.ports).toHaveLength(1);
    expect(result.objects.some((o) => o.object.kind === 'PodDisruptionBudget')).toBe(false);
  });

  it('the edge cluster drops the monitoring stack and keeps the web app', async () => {
    const { result } = await render('edge-1');
    expect(
      result.objects.filter(
        (o) => o.object.metadata.namespace === 'monitoring' || o.id === '/Namespace//monitoring',
      ),
    ).toEqual([]);
    expect(result.dropped.map((d) => d.id)).toHaveLength(4);
    expect(webOf(result.objects).spec.replicas).toBe(1);
    const { result: hz } = await render('prod-hz');
    expect(
      hz.objects.filter((o) => o.object.metadata.labels?.['app.kubernetes.io/part-of'] === 'monitoring'),
    ).toHaveLength(4);
  });

  it('fills ${cluster.name} into the ConfigMap per cluster', async () => {
    const { result } = await render('prod-sh');
    const config = result.objects.find((o) => o.id === '/ConfigMap/shop/web-config')!.object;
    expect(config.data).toEqual({ CLUSTER_NAME: 'prod-sh', ENVIRONMENT: 'prod', LOG_LEVEL: 'info' });
  });

  it('stacks the api chart values global → region → cluster, and says which file set each', async () => {
    const api = async (name: string) => {
      const { cluster, result } = await render(name);
      const deployment = result.objects.find((o) => o.id === 'apps/Deployment/shop/api')!
        .object as unknown as Web;
      const config = result.objects.find((o) => o.id === '/ConfigMap/shop/api-config')!.object;
      return { cluster, result, deployment, config };
    };
    const replicas = {} as Record<string, number>;
    for (const c of clusters) replicas[c.name] = (await api(c.name)).deployment.spec.replicas;
    expect(replicas).toEqual({ 'prod-hz': 4, 'prod-sh': 3, staging: 2, 'edge-1': 1 });
    const edge = await api('edge-1');
    expect(edge.deployment.spec.template.spec.containers[0]!.image).toBe(
      'registry-cn-hangzhou.example.com/shop/api:2.4.1',
    );
    expect(edge.config.data).toEqual({ LOG_LEVEL: 'debug', REGION: 'cn-hangzhou', CLUSTER: 'edge-1' });
    const explained = explainRender(edge.cluster, edge.result);
    expect(explained).toMatch(/replicaCount +set by clusters\/edge-1\/api\.yaml:7/);
    expect(explained).toMatch(/image\.registry +set by regions\/cn-hangzhou\/api\.yaml:9/);
    expect(explained).toMatch(/cluster +set by global\/api\/chart\.yaml:10/);
  });

  it('builds the kustomize overlay: namespace, labels, the hashed ConfigMap and its rewritten reference', async () => {
    const { result } = await render('prod-sh');
    const generated = result.objects.filter((o) => o.id.startsWith('/ConfigMap/shop/cache-config-'));
    expect(generated).toHaveLength(1);
    const name = generated[0]!.object.metadata.name;
    expect(name).toMatch(/^cache-config-[a-z0-9]{10}$/);
    const cache = result.objects.find((o) => o.id === 'apps/Deployment/shop/cache')!.object as unknown as {
      metadata: { labels: Record<string, string> };
      spec: { template: { spec: { containers: { image: string; envFrom: unknown[] }[] } } };
    };
    expect(cache.metadata.labels['app.kubernetes.io/part-of']).toBe('shop');
    expect(cache.spec.template.spec.containers[0]!.image).toBe('registry.example.com/shop/cache:7.4');
    expect(cache.spec.template.spec.containers[0]!.envFrom).toEqual([{ configMapRef: { name } }]);
  });
});
