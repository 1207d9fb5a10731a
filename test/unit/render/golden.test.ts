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
import { FolderTree } from '../../../agent/src/source/folder.js';

const FLEET = new URL('../../../examples/fleet/', import.meta.url).pathname;
const GOLDEN = new URL('./golden/', import.meta.url).pathname;
const { clusters } = parse(readFileSync(`${FLEET}clusters.yaml`, 'utf8')) as { clusters: ClusterIdentity[] };
const renderer = createRenderer(new FolderTree(FLEET));

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
  objects.find((o) => o.id === 'apps/Deployment/shop/web')!.object as Web;

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
});
