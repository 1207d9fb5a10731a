// Weighted replica division: the pure division over generated weight lists, then whole renders of
// a real repository folder with a fleet inventory, one per cluster, whose shares must add up.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createRenderer } from '../../../agent/src/render/index.js';
import { divideReplicas, REPLICA_SHARE, REPLICA_WEIGHTS } from '../../../agent/src/render/replicas.js';
import { FolderTree } from '../../../agent/src/source/folder.js';

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const INVENTORY = `clusters:
  - name: prod-hz
    labels: { region: cn-hangzhou, env: prod }
  - name: prod-sh
    labels: { region: cn-shanghai, env: prod }
  - name: edge-1
    labels: { region: cn-hangzhou, env: prod, tier: edge }
  - name: staging
    labels: { env: staging }
`;

function repo(web: string, inventory: string | null = INVENTORY): string {
  dir = mkdtempSync(path.join(tmpdir(), 'strata-replicas-'));
  mkdirSync(path.join(dir, 'global'));
  writeFileSync(
    path.join(dir, 'strata.yaml'),
    'apiVersion: strata.dev/v1\nkind: Fleet\nlayers: [{ path: global }]\n',
  );
  if (inventory !== null) writeFileSync(path.join(dir, 'clusters.yaml'), inventory);
  writeFileSync(path.join(dir, 'global', 'web.yaml'), web);
  return dir;
}

const web = (weights: string, replicas = 10) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  annotations:
    strata.dev/cluster-selector: env=prod
    ${REPLICA_WEIGHTS}: "${weights}"
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web, image: web:1 }] }
`;

async function shares(root: string, names: string[], labels: Record<string, Record<string, string>>) {
  const renderer = createRenderer(new FolderTree(root));
  const out: Record<string, unknown> = {};
  for (const name of names) {
    const result = await renderer.render({ name, labels: labels[name] ?? {} });
    if (!result.ok) {
      out[name] = result.errors.map((e) => ({
        file: e.file,
        line: e.line,
        object: e.object,
        message: e.message,
      }));
      continue;
    }
    const obj = result.objects.find((o) => o.id === 'apps/Deployment/shop/web')?.object as
      | { spec: { replicas: number }; metadata: { annotations: Record<string, string> } }
      | undefined;
    out[name] = obj && { replicas: obj.spec.replicas, annotations: obj.metadata.annotations };
  }
  return out;
}

const LABELS = {
  'prod-hz': { region: 'cn-hangzhou', env: 'prod' },
  'prod-sh': { region: 'cn-shanghai', env: 'prod' },
  'edge-1': { region: 'cn-hangzhou', env: 'prod', tier: 'edge' },
};

describe('weighted replica division', () => {
  it('adds up to the total, stays within one replica of the exact share, whatever the input order', () => {
    const rnd = random(42);
    for (let round = 0; round < 500; round++) {
      const n = 1 + Math.floor(rnd() * 12);
      const weights = Array.from({ length: n }, (_, i) => ({
        name: `c${String(i).padStart(2, '0')}`,
        weight: 1 + Math.floor(rnd() * 9),
      }));
      const total = Math.floor(rnd() * 50);
      const division = divideReplicas(total, weights);
      const sum = weights.reduce((s, w) => s + w.weight, 0);
      expect([...division.values()].reduce((a, b) => a + b, 0)).toBe(total);
      for (const w of weights) {
        const exact = (total * w.weight) / sum;
        const got = division.get(w.name)!;
        expect(got).toBeGreaterThanOrEqual(Math.floor(exact));
        expect(got).toBeLessThanOrEqual(Math.ceil(exact));
      }
      expect(divideReplicas(total, [...weights].reverse())).toEqual(division);
    }
  });

  it('gives remainders by the largest fraction, then the larger weight, then the name', () => {
    const d = divideReplicas(10, [
      { name: 'b', weight: 1 },
      { name: 'a', weight: 1 },
      { name: 'c', weight: 2 },
    ]);
    expect(Object.fromEntries(d)).toEqual({ c: 5, a: 3, b: 2 });
    expect(
      Object.fromEntries(
        divideReplicas(1, [
          { name: 'x', weight: 1 },
          { name: 'y', weight: 3 },
        ]),
      ),
    ).toEqual({
      y: 1,
      x: 0,
    });
  });

  it("renders each cluster's own share of the total from the commit's inventory", async () => {
    const root = repo(web('tier=edge: 1; region=cn-hangzhou: 3; env=prod: 2', 11));
    const got = await shares(root, ['prod-hz', 'prod-sh', 'edge-1'], LABELS);
    // Weights 3 (hz), 2 (sh), 1 (edge): 11 × 3/6 = 5.5, 11 × 2/6 = 3.67, 11 × 1/6 = 1.83 → 5, 4, 2.
    expect(got).toEqual({
      'prod-hz': { replicas: 5, annotations: { [REPLICA_SHARE]: '5 of 11 (weight 3 of 6, 3 clusters)' } },
      'prod-sh': { replicas: 4, annotations: { [REPLICA_SHARE]: '4 of 11 (weight 2 of 6, 3 clusters)' } },
      'edge-1': { replicas: 2, annotations: { [REPLICA_SHARE]: '2 of 11 (weight 1 of 6, 3 clusters)' } },
    });
  });

  it('refuses a share to a cluster missing from the inventory, or without one, naming file and object', async () => {
    const root = repo(web('env=prod: 1'));
    const missing = (await shares(root, ['prod-gz'], { 'prod-gz': { env: 'prod' } }))['prod-gz'] as {
      message: string;
      object: string;
      file: string;
      line: number;
    }[];
    expect(missing).toHaveLength(1);
    expect(missing[0]).toMatchObject({ file: 'global/web.yaml', object: 'apps/Deployment/shop/web' });
    expect(missing[0]!.message).toMatch(
      /cluster prod-gz is not in the fleet inventory clusters\.yaml, so it has no share/,
    );

    rmSync(path.join(root, 'clusters.yaml'));
    const none = (await shares(root, ['prod-hz'], LABELS))['prod-hz'] as { message: string }[];
    expect(none[0]!.message).toMatch(/needs the fleet inventory clusters\.yaml/);
  });

  it('names the bad entry of a weight list, and a broken inventory by its file', async () => {
    const bad = repo(web('env=prod: two'));
    const got = (await shares(bad, ['prod-hz'], LABELS))['prod-hz'] as { message: string }[];
    expect(got[0]!.message).toMatch(
      /replica-weights entry 1 \("env=prod: two"\): the weight must be a whole number/,
    );
    rmSync(bad, { recursive: true, force: true });
    const broken = repo(web('env=prod: 1'), 'clusters:\n  - name: prod-hz\n  - name: prod-hz\n');
    const dup = (await shares(broken, ['prod-hz'], LABELS))['prod-hz'] as { file: string; message: string }[];
    expect(dup[0]).toMatchObject({ file: 'clusters.yaml' });
    expect(dup[0]!.message).toMatch(/cluster prod-hz is listed twice/);
  });
});
