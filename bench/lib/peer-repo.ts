/**
 * The one repository both tools sync in `bench:peers`: plain manifests under `global/` (Strata's
 * default first layer; Flux's Kustomization points at `./global` and generates its kustomization).
 * Objects sit in ten files per kind, so deleting the last file of each kind prunes 10 %.
 */
import type { FileSet } from '../../test/git/index.js';

export const BENCH_NAMESPACE = 'bench';

export interface Scenario {
  /** `1000`, `10000`, `mixed`: how the command line names it. */
  name: string;
  configMaps: number;
  /** Deployments (1 replica, made Available by KWOK), each with a Service. */
  apps: number;
}

export function scenario(name: string): Scenario {
  if (name === 'mixed') return { name, configMaps: 400, apps: 50 };
  const count = Number(name);
  if (!Number.isInteger(count) || count < 10 || count > 50_000 || count % 10 !== 0) {
    throw new Error(
      `--sizes: ${JSON.stringify(name)} is neither "mixed" nor a multiple of 10 from 10 to 50000`,
    );
  }
  return { name, configMaps: count, apps: 0 };
}

/** Objects the tools manage, the Namespace included. */
export const objectCount = (s: Scenario, pruned = false) =>
  1 + (pruned ? 0.9 : 1) * (s.configMaps + 2 * s.apps);

export const cmName = (i: number) => `cm-${String(i).padStart(5, '0')}`;
const appName = (i: number) => `app-${String(i).padStart(3, '0')}`;

function configMap(i: number, value: string): object {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: cmName(i), namespace: BENCH_NAMESPACE, labels: { 'bench.strata.dev/set': 'peers' } },
    data: { value, index: String(i), payload: 'x'.repeat(200) },
  };
}

function app(i: number): object[] {
  const labels = { app: appName(i) };
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: appName(i), namespace: BENCH_NAMESPACE },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              { name: 'app', image: 'registry.invalid/bench/app:1', ports: [{ containerPort: 8080 }] },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: appName(i), namespace: BENCH_NAMESPACE },
      spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] },
    },
  ];
}

const yamlDocs = (objects: object[]) => `${objects.map((o) => JSON.stringify(o)).join('\n---\n')}\n`;

/**
 * The repository's files. `firstValue` is the data of ConfigMap 0 (the push rounds change it);
 * `pruned` deletes the last tenth of every kind (its last file).
 */
export function repoFiles(s: Scenario, opts: { firstValue: string; pruned: boolean }): FileSet {
  const files: FileSet = {
    'global/namespace.yaml': yamlDocs([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: BENCH_NAMESPACE } },
    ]),
  };
  const perCmFile = s.configMaps / 10;
  for (let f = 0; f < 10; f++) {
    const objects = Array.from({ length: perCmFile }, (_, k) => {
      const i = f * perCmFile + k;
      return configMap(i, i === 0 ? opts.firstValue : 'v0');
    });
    files[`global/configmaps-${f}.yaml`] = opts.pruned && f === 9 ? null : yamlDocs(objects);
  }
  if (s.apps > 0) {
    const perAppFile = s.apps / 10;
    for (let f = 0; f < 10; f++) {
      const objects = Array.from({ length: perAppFile }, (_, k) => app(f * perAppFile + k)).flat();
      files[`global/apps-${f}.yaml`] = opts.pruned && f === 9 ? null : yamlDocs(objects);
    }
  }
  return files;
}
