// Weighted replica division on the three lab clusters. The fleet inventory (clusters.yaml) labels
// edge as tier=edge and hz and sh as env=prod. A Deployment of 11 replicas is weighted
// "tier=edge: 1; env=prod: 2", so the exact shares are 2.2, 4.4 and 4.4. Each cluster's share is
// rounded down, and the one replica left over goes by the largest remainder, then the weight, then
// the name: edge 2, hz 5, sh 4. The bundled `strata apply` applies the fleet to each cluster, and
// the shares are read from the live Deployments. A cluster missing from the inventory gets a
// render error naming clusters.yaml, never a silent 0.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE } from './support/bundle.js';
import { labCluster } from './support/lab.js';

const NS = 'replica-weights-e2e';
const LABELS: Record<string, string> = { edge: 'tier=edge', hz: 'env=prod', sh: 'env=prod' };
let repo: string;

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BUNDLE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const apps = (name: string) => {
  const kc = new KubeConfig();
  kc.loadFromFile(labCluster(name).kubeconfigPath);
  return { apps: kc.makeApiClient(AppsV1Api), core: kc.makeApiClient(CoreV1Api) };
};

beforeAll(async () => {
  repo = await mkdtemp(path.join(tmpdir(), 'strata-replica-weights-'));
  await mkdir(path.join(repo, 'global'), { recursive: true });
  await writeFile(
    path.join(repo, 'strata.yaml'),
    'apiVersion: strata.dev/v1\nkind: Fleet\nlayers: [{ path: global }]\n',
  );
  await writeFile(
    path.join(repo, 'clusters.yaml'),
    'clusters:\n  - { name: edge, labels: { tier: edge } }\n  - { name: hz, labels: { env: prod } }\n  - { name: sh, labels: { env: prod } }\n',
  );
  await writeFile(
    path.join(repo, 'global', 'ns.yaml'),
    `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${NS} }\n`,
  );
  await writeFile(
    path.join(repo, 'global', 'web.yaml'),
    `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${NS}
  annotations: { strata.dev/replica-weights: "tier=edge: 1; env=prod: 2" }
spec:
  replicas: 11
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      nodeSelector: { strata.dev/no-such-node: "true" }
      containers: [{ name: web, image: "example.invalid/web:1" }]
`,
  );
});

afterAll(async () => {
  for (const name of Object.keys(LABELS))
    await apps(name)
      .core.deleteNamespace({ name: NS })
      .catch(() => {});
  await rm(repo, { recursive: true, force: true });
}, 120_000);

describe('weighted replica division on real clusters', () => {
  it('gives each cluster its share of the fleet total, remainder by the stable order', {
    timeout: 240_000,
  }, async () => {
    const shares: Record<string, number | undefined> = {};
    for (const name of Object.keys(LABELS)) {
      const out = await cli([
        'apply',
        '--repo',
        repo,
        '--cluster',
        name,
        '--labels',
        LABELS[name]!,
        '--kubeconfig',
        labCluster(name).kubeconfigPath,
        '--applyset',
        'strata-replica-weights-e2e',
      ]);
      // The Deployment cannot turn ready (no such node), so a non-zero health exit is possible;
      // what counts is that it was applied with its share.
      expect(out.stderr).not.toMatch(/clusters\.yaml/);
      const live = await apps(name).apps.readNamespacedDeployment({ name: 'web', namespace: NS });
      shares[name] = live.spec?.replicas;
      expect(live.metadata?.annotations?.['strata.dev/replica-share']).toMatch(
        / of 11 \(weight [12] of 5, 3 clusters\)/,
      );
    }
    expect(shares).toEqual({ edge: 2, hz: 5, sh: 4 });

    const ghost = await cli([
      'apply',
      '--repo',
      repo,
      '--cluster',
      'ghost',
      '--labels',
      'env=prod',
      '--kubeconfig',
      labCluster('edge').kubeconfigPath,
      '--applyset',
      'strata-replica-weights-ghost',
    ]);
    expect(ghost.code).not.toBe(0);
    expect(`${ghost.stdout}${ghost.stderr}`).toMatch(
      /cluster ghost is not in the fleet inventory clusters\.yaml/,
    );
  });
});
