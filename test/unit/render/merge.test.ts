import { describe, expect, it } from 'vitest';
import { strategicMerge } from '../../../agent/src/render/merge.js';

const pod = () => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', finalizers: ['a'] },
  spec: {
    containers: [
      {
        name: 'web',
        image: 'web:1',
        ports: [{ containerPort: 80, name: 'http' }],
        env: [
          { name: 'A', value: '1' },
          { name: 'B', value: '2' },
        ],
        volumeMounts: [{ name: 'data', mountPath: '/data' }],
        args: ['--a', '--b'],
      },
      { name: 'sidecar', image: 'proxy:1' },
    ],
    volumes: [{ name: 'data', emptyDir: {} }],
  },
});
type Pod = ReturnType<typeof pod>;
const merge = (patch: unknown, base: unknown = pod()) => strategicMerge(base, patch, 'v1', 'Pod') as Pod;

describe('strategic merge', () => {
  it('patching one container image keeps its ports, env and the other containers', () => {
    const out = merge({ spec: { containers: [{ name: 'web', image: 'web:2' }] } });
    expect(out.spec.containers).toHaveLength(2);
    expect(out.spec.containers[0]).toMatchObject({
      image: 'web:2',
      ports: [{ containerPort: 80, name: 'http' }],
    });
    expect(out.spec.containers[0]!.env).toHaveLength(2);
    expect(out.spec.containers[1]).toEqual({ name: 'sidecar', image: 'proxy:1' });
  });

  it('merges env by name: named items first in patch order, then the rest, as Kubernetes and kustomize do', () => {
    const out = merge({
      spec: {
        containers: [
          {
            name: 'web',
            env: [
              { name: 'B', value: 'two' },
              { name: 'C', value: '3' },
            ],
          },
        ],
      },
    });
    expect(out.spec.containers[0]!.env).toEqual([
      { name: 'B', value: 'two' },
      { name: 'C', value: '3' },
      { name: 'A', value: '1' },
    ]);
  });

  it('merges ports by containerPort and protocol, new ports first as kustomize orders them, and volumeMounts by mountPath', () => {
    const out = merge({
      spec: {
        containers: [
          {
            name: 'web',
            ports: [{ containerPort: 80, protocol: 'TCP' }, { containerPort: 9090 }],
            volumeMounts: [{ mountPath: '/data', readOnly: true }],
          },
        ],
      },
    });
    // kustomize build gives the same order, but drops `protocol: TCP` from the merged port; Strata
    // keeps what the patch wrote (the API server defaults it to TCP either way).
    expect(out.spec.containers[0]!.ports).toEqual([
      { containerPort: 9090 },
      { containerPort: 80, name: 'http', protocol: 'TCP' },
    ]);
    expect(out.spec.containers[0]!.volumeMounts).toEqual([
      { name: 'data', mountPath: '/data', readOnly: true },
    ]);
  });

  it('$patch: delete removes the keyed item', () => {
    const out = merge({ spec: { containers: [{ name: 'sidecar', $patch: 'delete' }] } });
    expect(out.spec.containers.map((c) => c.name)).toEqual(['web']);
  });

  it('$patch: replace in a list replaces the whole list', () => {
    const out = merge({ spec: { containers: [{ $patch: 'replace' }, { name: 'only', image: 'x:1' }] } });
    expect(out.spec.containers).toEqual([{ name: 'only', image: 'x:1' }]);
  });

  it('$patch: replace in a map replaces the map instead of merging it', () => {
    const out = merge({ spec: { volumes: [{ name: 'data', $patch: 'replace', hostPath: { path: '/x' } }] } });
    expect(out.spec.volumes).toEqual([{ name: 'data', hostPath: { path: '/x' } }]);
  });

  it('null deletes a field', () => {
    const out = merge({ spec: { containers: [{ name: 'web', volumeMounts: null }] } });
    expect(out.spec.containers[0]).not.toHaveProperty('volumeMounts');
  });

  it('lists without a merge key (args) are replaced', () => {
    const out = merge({ spec: { containers: [{ name: 'web', args: ['--c'] }] } });
    expect(out.spec.containers[0]!.args).toEqual(['--c']);
  });

  it("finalizers (patch strategy merge) are a set union, the patch's values first as kustomize orders them", () => {
    const out = merge({ metadata: { finalizers: ['b', 'a'] } });
    expect(out.metadata.finalizers).toEqual(['b', 'a']);
    const more = merge({ metadata: { finalizers: ['c'] } });
    expect(more.metadata.finalizers).toEqual(['c', 'a']);
  });

  it('keeps 53/UDP beside 53/TCP, for container and Service ports alike', () => {
    const out = merge({
      spec: { containers: [{ name: 'web', ports: [{ containerPort: 53, protocol: 'UDP' }] }] },
    });
    expect(out.spec.containers[0]!.ports).toEqual([
      { containerPort: 53, protocol: 'UDP' },
      { containerPort: 80, name: 'http' },
    ]);
    const svc = strategicMerge(
      { apiVersion: 'v1', kind: 'Service', spec: { ports: [{ port: 53, protocol: 'TCP', targetPort: 53 }] } },
      { spec: { ports: [{ port: 53, protocol: 'UDP', targetPort: 53 }] } },
      'v1',
      'Service',
    ) as { spec: { ports: unknown[] } };
    expect(svc.spec.ports).toEqual([
      { port: 53, protocol: 'UDP', targetPort: 53 },
      { port: 53, protocol: 'TCP', targetPort: 53 },
    ]);
  });

  it('applies to nested templates of workload kinds (Deployment → PodSpec)', () => {
    const base = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: {
        template: { spec: { containers: [{ name: 'a', image: 'a:1', ports: [{ containerPort: 1 }] }] } },
      },
    };
    const out = strategicMerge(
      base,
      { spec: { template: { spec: { containers: [{ name: 'a', image: 'a:2' }] } } } },
      'apps/v1',
      'Deployment',
    );
    expect(out).toEqual({
      ...base,
      spec: {
        template: { spec: { containers: [{ name: 'a', image: 'a:2', ports: [{ containerPort: 1 }] }] } },
      },
    });
  });

  it('unknown kinds (custom resources) follow RFC 7386: lists are replaced', () => {
    const base = {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w' },
      spec: { containers: [{ name: 'a', x: 1 }] },
    };
    const out = strategicMerge(
      base,
      { spec: { containers: [{ name: 'a', y: 2 }] } },
      'example.com/v1',
      'Widget',
    );
    expect(out).toEqual({ ...base, spec: { containers: [{ name: 'a', y: 2 }] } });
  });

  it('does not change the original', () => {
    const base = pod();
    const copy = structuredClone(base);
    merge({ spec: { containers: [{ name: 'web', image: 'web:9' }] } }, base);
    expect(base).toEqual(copy);
  });

  it('refuses a keyed list item without its merge key, naming the path', () => {
    expect(() => merge({ spec: { containers: [{ image: 'x' }] } })).toThrow(/no merge key 'name'/);
    try {
      merge({ spec: { containers: [{ image: 'x' }] } });
    } catch (e) {
      expect((e as { path: unknown }).path).toEqual(['spec', 'containers', 0]);
    }
  });

  it('never sets an object prototype through a __proto__ key', () => {
    const patch = JSON.parse('{"metadata": {"__proto__": {"polluted": true}}}');
    const out = merge(patch) as unknown as { metadata: Record<string, unknown> };
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(out.metadata)).toBe(Object.prototype);
  });
});
