/**
 * A synthetic fleet for the render benchmark, written twice: as a Strata fleet repository and as
 * the equivalent kustomize overlays (base → region → cluster), both using strategic-merge patches
 * on containers so the outputs must agree object for object.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';

export interface BenchCluster {
  name: string;
  labels: { region: string };
}

export interface FleetShape {
  apps: number;
  regions: number;
  clusters: number;
  /** Deployments each cluster patches by name. */
  patchesPerCluster: number;
}

const pad = (n: number) => String(n).padStart(4, '0');
const appName = (i: number) => `app-${pad(i)}`;
const namespaceOf = (i: number) => `team-${i % 10}`;
const tierOf = (i: number) => (i % 3 === 0 ? 'frontend' : 'backend');

/** Four objects per app: Deployment (two containers), Service, ConfigMap, ServiceAccount. */
function appObjects(i: number): object[] {
  const name = appName(i);
  const namespace = namespaceOf(i);
  const labels = { app: name, tier: tierOf(i) };
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace, labels },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: name,
            containers: [
              {
                name: 'app',
                image: `registry.example.com/${name}:1.0.${i % 7}`,
                ports: [
                  { name: 'http', containerPort: 8080 },
                  { name: 'metrics', containerPort: 9090 },
                ],
                env: [
                  { name: 'LOG_LEVEL', value: 'info' },
                  { name: 'APP_ID', value: String(i) },
                ],
                envFrom: [{ configMapRef: { name } }],
                resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
                volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
              },
              {
                name: 'proxy',
                image: 'registry.example.com/proxy:2.4',
                ports: [{ name: 'proxy', containerPort: 15001 }],
              },
            ],
            volumes: [{ name: 'tmp', emptyDir: {} }],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace, labels },
      spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace, labels },
      data: { 'app.properties': `name=${name}\nfeature.flags=a,b,c\n`, TIMEOUT: '30s' },
    },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace, labels } },
  ];
}

const regionName = (r: number) => `region-${r}`;

/** The region's strategic-merge patch of every frontend Deployment. */
function regionPatch(r: number) {
  return {
    spec: {
      replicas: 3 + r,
      template: {
        spec: {
          containers: [
            {
              name: 'app',
              env: [{ name: 'REGION', value: regionName(r) }],
              resources: { limits: { memory: '512Mi' } },
            },
          ],
        },
      },
    },
  };
}

/** A cluster's patches: new image and an extra variable on a few Deployments, one drops its proxy. */
function clusterPatches(c: number, shape: FleetShape) {
  const patches = [];
  for (let k = 0; k < shape.patchesPerCluster; k++) {
    const i = (c * 37 + k * 101) % shape.apps;
    const containers: object[] = [
      {
        name: 'app',
        image: `registry.example.com/${appName(i)}:2.0-c${c}`,
        env: [
          { name: 'CLUSTER', value: `cluster-${pad(c)}` },
          { name: 'LOG_LEVEL', value: 'debug' },
        ],
      },
    ];
    if (k === 0) containers.push({ name: 'proxy', $patch: 'delete' });
    patches.push({
      name: appName(i),
      namespace: namespaceOf(i),
      merge: { spec: { template: { spec: { containers } } } },
    });
  }
  return patches;
}

export function clustersOf(shape: FleetShape): BenchCluster[] {
  return Array.from({ length: shape.clusters }, (_, c) => ({
    name: `cluster-${pad(c)}`,
    labels: { region: regionName(c % shape.regions) },
  }));
}

function write(path: string, text: string) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

const yamlStream = (docs: object[]) => docs.map((d) => stringify(d, { lineWidth: 0 })).join('---\n');

/** Writes `<root>/strata` (a fleet repository) and `<root>/kustomize` (equivalent overlays). */
export function writeBenchFleet(root: string, shape: FleetShape): { strata: string; kustomize: string } {
  rmSync(root, { recursive: true, force: true });
  const strata = join(root, 'strata');
  const kustomize = join(root, 'kustomize');
  const baseFiles: string[] = [];
  for (let i = 0; i < shape.apps; i++) {
    const text = yamlStream(appObjects(i));
    const file = `${namespaceOf(i)}/${appName(i)}.yaml`;
    write(join(strata, 'global', file), text);
    write(join(kustomize, 'base', file), text);
    baseFiles.push(file);
  }
  write(join(kustomize, 'base/kustomization.yaml'), stringify({ resources: baseFiles }));
  for (let r = 0; r < shape.regions; r++) {
    const merge = regionPatch(r);
    const strataPatch = {
      apiVersion: 'strata.dev/v1',
      kind: 'Patch',
      target: { kind: 'Deployment', labelSelector: 'tier=frontend' },
      merge,
    };
    write(join(strata, 'regions', regionName(r), 'frontend.yaml'), stringify(strataPatch));
    const smp = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'any' }, ...merge };
    write(join(kustomize, 'regions', regionName(r), 'frontend.yaml'), stringify(smp));
    write(
      join(kustomize, 'regions', regionName(r), 'kustomization.yaml'),
      stringify({
        resources: ['../../base'],
        patches: [{ path: 'frontend.yaml', target: { kind: 'Deployment', labelSelector: 'tier=frontend' } }],
      }),
    );
  }
  clustersOf(shape).forEach((cluster, c) => {
    const patches = clusterPatches(c, shape);
    const strataDocs = patches.map((p) => ({
      apiVersion: 'strata.dev/v1',
      kind: 'Patch',
      target: { kind: 'Deployment', name: p.name, namespace: p.namespace },
      merge: p.merge,
    }));
    write(join(strata, 'clusters', cluster.name, 'patches.yaml'), yamlStream(strataDocs));
    const dir = join(kustomize, 'clusters', cluster.name);
    patches.forEach((p, k) => {
      const smp = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: p.name, namespace: p.namespace },
        ...p.merge,
      };
      write(join(dir, `patch-${k}.yaml`), stringify(smp));
    });
    write(
      join(dir, 'kustomization.yaml'),
      stringify({
        resources: [`../../regions/${cluster.labels.region}`],
        patches: patches.map((_, k) => ({ path: `patch-${k}.yaml` })),
      }),
    );
  });
  write(join(strata, 'clusters.yaml'), stringify({ clusters: clustersOf(shape) }));
  return { strata, kustomize };
}
