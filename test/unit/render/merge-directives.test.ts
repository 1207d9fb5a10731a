import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MergeError, strategicMerge } from '../../../agent/src/render/merge.js';

/**
 * The strategic-merge directives `$setElementOrder/FIELD`, `$retainKeys` and
 * `$deleteFromPrimitiveList/FIELD` against apimachinery's own implementation: the oracle is what
 * the real `kubectl patch --local -f BASE --type strategic -p PATCH -o json` prints (no cluster
 * needed). kustomize's merge does not implement these directives, so kubectl is the reference. A
 * case kubectl refuses must be refused by Strata too (a MergeError naming the directive's path).
 */
const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'd', finalizers: ['a.example/x', 'b.example/x', 'c.example/x'], labels: { app: 'd' } },
  spec: {
    selector: { matchLabels: { app: 'd' } },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    template: {
      metadata: { labels: { app: 'd' } },
      spec: {
        containers: [
          {
            name: 'a',
            image: 'a:1',
            args: ['--one', '--two', '--three'],
            env: [
              { name: 'E1', value: '1' },
              { name: 'E2', value: '2' },
              { name: 'E3', value: '3' },
            ],
            ports: [
              { containerPort: 53, protocol: 'TCP' },
              { containerPort: 53, protocol: 'UDP' },
              { containerPort: 8080 },
            ],
          },
          { name: 'b', image: 'b:1' },
          { name: 'c', image: 'c:1' },
        ],
        volumes: [
          { name: 'cfg', configMap: { name: 'cfg', defaultMode: 420 } },
          { name: 'tmp', emptyDir: {} },
        ],
      },
    },
  },
};

const service = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 's' },
  spec: {
    selector: { app: 'd' },
    ports: [
      { name: 'dns-tcp', port: 53, protocol: 'TCP' },
      { name: 'dns-udp', port: 53, protocol: 'UDP' },
      { name: 'http', port: 80 },
    ],
  },
};

const podSpec = (spec: Record<string, unknown>) => ({ spec: { template: { spec: spec } } });
const container = (fields: Record<string, unknown>) => podSpec({ containers: [{ name: 'a', ...fields }] });

type Case = [name: string, base: object, patch: object];
const cases: Case[] = [
  // $setElementOrder
  [
    'order containers, no list in the patch',
    deployment,
    podSpec({ '$setElementOrder/containers': [{ name: 'c' }, { name: 'a' }, { name: 'b' }] }),
  ],
  [
    'order containers with a new one in the middle',
    deployment,
    podSpec({
      '$setElementOrder/containers': [{ name: 'c' }, { name: 'new' }, { name: 'a' }],
      containers: [{ name: 'new', image: 'n:1' }],
    }),
  ],
  [
    'order containers and change one',
    deployment,
    podSpec({
      '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }, { name: 'c' }],
      containers: [{ name: 'a', image: 'a:2' }],
    }),
  ],
  [
    'order naming only some containers',
    deployment,
    podSpec({ '$setElementOrder/containers': [{ name: 'c' }, { name: 'b' }] }),
  ],
  [
    'order env inside a container',
    deployment,
    container({ '$setElementOrder/env': [{ name: 'E3' }, { name: 'E1' }, { name: 'E2' }] }),
  ],
  [
    'order env and add a variable',
    deployment,
    container({
      '$setElementOrder/env': [{ name: 'E2' }, { name: 'E0' }, { name: 'E1' }, { name: 'E3' }],
      env: [{ name: 'E0', value: '0' }],
    }),
  ],
  [
    'order env and delete a variable',
    deployment,
    container({
      '$setElementOrder/env': [{ name: 'E3' }, { name: 'E1' }],
      env: [{ name: 'E2', $patch: 'delete' }],
    }),
  ],
  [
    'order finalizers (a set of scalars)',
    deployment,
    { metadata: { '$setElementOrder/finalizers': ['c.example/x', 'a.example/x', 'b.example/x'] } },
  ],
  [
    'order finalizers with a new one',
    deployment,
    {
      metadata: {
        '$setElementOrder/finalizers': ['c.example/x', 'd.example/x', 'a.example/x'],
        finalizers: ['d.example/x'],
      },
    },
  ],
  [
    'order volumes and add one',
    deployment,
    podSpec({
      '$setElementOrder/volumes': [{ name: 'tmp' }, { name: 'data' }, { name: 'cfg' }],
      volumes: [{ name: 'data', emptyDir: { medium: 'Memory' } }],
    }),
  ],
  [
    'order a list the original lacks',
    deployment,
    podSpec({
      '$setElementOrder/initContainers': [{ name: 'i2' }, { name: 'i1' }],
      initContainers: [
        { name: 'i2', image: 'i:2' },
        { name: 'i1', image: 'i:1' },
      ],
    }),
  ],
  [
    'order Service ports',
    service,
    { spec: { '$setElementOrder/ports': [{ port: 80 }, { port: 53 }], ports: [{ port: 80, name: 'web' }] } },
  ],
  // $retainKeys
  [
    'retainKeys clears rollingUpdate when the strategy becomes Recreate',
    deployment,
    { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } },
  ],
  [
    'retainKeys keeping both fields merges as usual',
    deployment,
    { spec: { strategy: { $retainKeys: ['type', 'rollingUpdate'], rollingUpdate: { maxSurge: 2 } } } },
  ],
  [
    'retainKeys on a volume changes its source',
    deployment,
    podSpec({
      volumes: [{ name: 'cfg', $retainKeys: ['name', 'secret'], secret: { secretName: 's' } }],
    }),
  ],
  [
    'retainKeys with a null field (deleted, allowed unlisted)',
    deployment,
    { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: null } } },
  ],
  [
    'retainKeys on metadata labels',
    deployment,
    { metadata: { labels: { $retainKeys: ['tier'], tier: 'web' } } },
  ],
  // $deleteFromPrimitiveList
  [
    'delete a finalizer',
    deployment,
    { metadata: { '$deleteFromPrimitiveList/finalizers': ['b.example/x'] } },
  ],
  [
    'delete two finalizers, one absent',
    deployment,
    { metadata: { '$deleteFromPrimitiveList/finalizers': ['a.example/x', 'zzz'] } },
  ],
  [
    'delete from an atomic list (args)',
    deployment,
    container({ '$deleteFromPrimitiveList/args': ['--two'] }),
  ],
  [
    'delete from a list the original lacks',
    deployment,
    container({ '$deleteFromPrimitiveList/command': ['sh'] }),
  ],
  [
    'order and delete finalizers together',
    deployment,
    {
      metadata: {
        '$setElementOrder/finalizers': ['c.example/x', 'a.example/x'],
        '$deleteFromPrimitiveList/finalizers': ['b.example/x'],
      },
    },
  ],
  [
    'all three in one patch',
    deployment,
    {
      metadata: { '$deleteFromPrimitiveList/finalizers': ['c.example/x'] },
      spec: {
        strategy: { $retainKeys: ['type'], type: 'Recreate' },
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }, { name: 'c' }],
            containers: [
              { name: 'a', '$setElementOrder/env': [{ name: 'E2' }, { name: 'E1' }, { name: 'E3' }] },
            ],
          },
        },
      },
    },
  ],
];

/** Patches kubectl refuses; Strata must refuse them too. */
const refused: Case[] = [
  [
    'retainKeys not listing a field the patch sets',
    deployment,
    { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: { maxSurge: 2 } } } },
  ],
  ['retainKeys that is not a list', deployment, { spec: { strategy: { $retainKeys: 'type' } } }],
  [
    'patch items out of their setElementOrder order',
    deployment,
    podSpec({
      '$setElementOrder/containers': [{ name: 'a' }, { name: 'b' }],
      containers: [
        { name: 'b', image: 'b:2' },
        { name: 'a', image: 'a:2' },
      ],
    }),
  ],
  [
    'a patch item missing from its setElementOrder list',
    deployment,
    podSpec({
      '$setElementOrder/containers': [{ name: 'a' }],
      containers: [{ name: 'x', image: 'x:1' }],
    }),
  ],
];

const work = mkdtempSync(join(tmpdir(), 'strata-merge-directives-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** kubectl's result, or `{ error }` with its message when it refuses the patch. */
function kubectlMerges(base: object, patch: object): unknown {
  const file = join(work, 'base.json');
  writeFileSync(file, JSON.stringify(base));
  const args = ['patch', '--local', '-f', file, '--type', 'strategic', '-p', JSON.stringify(patch)];
  try {
    return JSON.parse(
      execFileSync('kubectl', [...args, '-o', 'json', '--kubeconfig', '/dev/null'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
  } catch (e) {
    return { error: String((e as { stderr?: string }).stderr ?? e) };
  }
}

function strataMerges(base: { apiVersion: string; kind: string }, patch: object): unknown {
  return strategicMerge(structuredClone(base), patch, base.apiVersion, base.kind);
}

describe('strategic-merge directives as kubectl applies them (oracle: the real kubectl)', () => {
  it.each(cases)('%s', (_name, base, patch) => {
    const expected = kubectlMerges(base, patch);
    expect(expected).not.toHaveProperty('error');
    expect(strataMerges(base as typeof deployment, patch)).toEqual(expected);
  });

  it.each(refused)('refused: %s', (_name, base, patch) => {
    expect(kubectlMerges(base, patch)).toHaveProperty('error');
    expect(() => strataMerges(base as typeof deployment, patch)).toThrow(MergeError);
  });

  it('a refusal names the directive and where it is', () => {
    try {
      strataMerges(deployment, {
        spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: { maxSurge: 2 } } },
      });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(MergeError);
      expect((e as MergeError).path).toEqual(['spec', 'strategy', '$retainKeys']);
      expect((e as MergeError).message).toContain("'rollingUpdate'");
    }
  });

  it('does not change the original object', () => {
    const base = structuredClone(deployment);
    strategicMerge(
      base,
      { metadata: { '$deleteFromPrimitiveList/finalizers': ['a.example/x'] } },
      'apps/v1',
      'Deployment',
    );
    expect(base).toEqual(deployment);
  });
});
