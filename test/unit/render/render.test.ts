// biome-ignore-all lint/suspicious/noTemplateCurlyInString: fleet YAML writes ${cluster.…} variables
import { describe, expect, it } from 'vitest';
import {
  createParseCache,
  createRenderer,
  renderCluster,
  toYamlStream,
} from '../../../agent/src/render/index.js';
import { FolderTree } from '../../../agent/src/source/folder.js';
import type { FileTree } from '../../../agent/src/source/tree.js';
import { deployment, hz, objectById, renderFiles, renderOk, writeRepo } from './helpers.js';

const WEB = 'apps/Deployment/shop/web';
const patch = (body: string) => `apiVersion: strata.dev/v1\nkind: Patch\n${body}`;
type Container = { name: string; image: string; ports?: unknown[]; env?: { name: string; value: string }[] };
const containersOf = (o: { object: unknown }) =>
  (o.object as { spec: { template: { spec: { containers: Container[] } } } }).spec.template.spec.containers;

describe('documents', () => {
  it('reads .yaml and .yml files recursively in sorted order, multi-document files included', async () => {
    const cm = (n: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${n} }\n`;
    const result = await renderOk({
      'global/b/x.yml': cm('bx'),
      'global/a.yaml': `${cm('a1')}---\n${cm('a2')}`,
      'global/c.json': '{}',
      'global/b.yaml': cm('b'),
      'global/README.md': 'not yaml',
    });
    expect(result.objects.map((o) => o.object.metadata.name)).toEqual(['a1', 'a2', 'b', 'bx']);
    expect(result.objects[1]!.provenance.definedAt).toEqual({ file: 'global/a.yaml', doc: 1, line: 5 });
  });

  it('ignores dot-files, dot-folders and _preview folders', async () => {
    const cm = (n: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${n} }\n`;
    const result = await renderOk({
      'global/a.yaml': cm('a'),
      'global/.hidden.yaml': cm('hidden'),
      'global/.git/x.yaml': cm('git'),
      'global/_preview/p.yaml': cm('preview'),
    });
    expect(result.objects.map((o) => o.object.metadata.name)).toEqual(['a']);
  });

  it('skips empty documents such as a trailing ---', async () => {
    const result = await renderOk({
      'global/a.yaml': '---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: a }\n---\n',
    });
    expect(result.objects).toHaveLength(1);
  });

  it('keeps keys in the order they were written', async () => {
    const result = await renderOk({
      'global/a.yaml': 'kind: ConfigMap\nmetadata: { name: a }\napiVersion: v1\ndata: { z: "1", a: "2" }\n',
    });
    expect(Object.keys(result.objects[0]!.object)).toEqual(['kind', 'metadata', 'apiVersion', 'data']);
    expect(Object.keys(result.objects[0]!.object.data as object)).toEqual(['z', 'a']);
  });

  it('follows a symlink that stays inside the repository', async () => {
    const result = await renderOk({
      'shared/a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: shared }\n',
      'global/a.yaml': { symlink: '../shared/a.yaml' },
    });
    expect(result.objects.map((o) => o.id)).toEqual(['/ConfigMap//shared']);
  });
});

describe('patches', () => {
  it('merge patches one container image and keeps its ports, env and the other containers', async () => {
    const result = await renderOk({
      'global/web.yaml': deployment,
      'regions/cn-hangzhou/p.yaml': patch(
        'target: { kind: Deployment, name: web }\nmerge:\n  spec:\n    template:\n      spec:\n        containers:\n          - name: web\n            image: reg-hz/web:2.0\n',
      ),
    });
    const containers = containersOf(objectById(result, WEB));
    expect(containers.map((c) => c.name)).toEqual(['web', 'sidecar']);
    expect(containers[0]).toMatchObject({
      image: 'reg-hz/web:2.0',
      ports: [{ containerPort: 8080, name: 'http' }],
    });
    expect(containers[0]!.env).toHaveLength(2);
  });

  it('jsonPatch applies RFC 6902 operations', async () => {
    const result = await renderOk({
      'global/web.yaml': deployment,
      'clusters/prod-hz/p.yaml': patch(
        'target: { kind: Deployment, name: web }\njsonPatch:\n  - { op: replace, path: /spec/replicas, value: 7 }\n  - { op: add, path: /metadata/labels/tier, value: front }\n',
      ),
    });
    const web = objectById(result, WEB).object as unknown as {
      spec: { replicas: number };
      metadata: { labels: object };
    };
    expect(web.spec.replicas).toBe(7);
    expect(web.metadata.labels).toEqual({ app: 'web', tier: 'front' });
  });

  it('images overrides name and tag of matching containers only', async () => {
    const result = await renderOk({
      'global/web.yaml': deployment,
      'global/p.yaml': patch(
        'target: { kind: Deployment }\nimages:\n  - { name: registry.example.com/web, newName: reg-hz.example.com/web, newTag: "1.25" }\n',
      ),
    });
    expect(containersOf(objectById(result, WEB)).map((c) => c.image)).toEqual([
      'reg-hz.example.com/web:1.25',
      'registry.example.com/proxy:2.0',
    ]);
  });

  it('delete drops the target for this cluster and says so', async () => {
    const result = await renderOk({
      'global/web.yaml': deployment,
      'clusters/prod-hz/p.yaml': patch('target: { kind: Deployment, name: web }\ndelete: true\n'),
    });
    expect(result.objects).toEqual([]);
    expect(result.dropped).toEqual([
      expect.objectContaining({ id: WEB, reason: 'deleted by clusters/prod-hz/p.yaml (doc 0)' }),
    ]);
  });

  it('a labelSelector target patches every matching object', async () => {
    const cm = (n: string, team: string) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${n}, labels: { team: ${team} } }\ndata: { a: "1" }\n---\n`;
    const result = await renderOk({
      'global/cms.yaml': cm('x', 'blue') + cm('w', 'blue') + cm('z', 'red'),
      'global/p.yaml': patch('target: { labelSelector: "team in (blue)" }\nmerge: { data: { b: "2" } }\n'),
    });
    expect(result.objects.map((o) => o.object.data)).toEqual([
      { a: '1', b: '2' },
      { a: '1', b: '2' },
      { a: '1' },
    ]);
  });

  it('an optional patch whose target matches nothing is skipped', async () => {
    const result = await renderOk({
      'global/web.yaml': deployment,
      'global/p.yaml': patch(
        'target: { kind: Deployment, name: api }\noptional: true\nmerge: { spec: { replicas: 1 } }\n',
      ),
    });
    expect(result.objects).toHaveLength(1);
  });

  it('patches apply in layer and file order, each recorded in provenance', async () => {
    const replicas = (n: number) =>
      patch(`target: { kind: Deployment, name: web }\nmerge: { spec: { replicas: ${n} } }\n`);
    const result = await renderOk({
      'global/web.yaml': deployment,
      'global/z-patch.yaml': replicas(3),
      'regions/cn-hangzhou/p.yaml': replicas(5),
      'clusters/prod-hz/p.yaml': `${replicas(6)}---\n${replicas(7)}`,
    });
    const web = objectById(result, WEB);
    expect((web.object as unknown as { spec: { replicas: number } }).spec.replicas).toBe(7);
    expect(web.provenance.patches.map((p) => `${p.file}#${p.doc}:${p.op}`)).toEqual([
      'global/z-patch.yaml#0:merge',
      'regions/cn-hangzhou/p.yaml#0:merge',
      'clusters/prod-hz/p.yaml#0:merge',
      'clusters/prod-hz/p.yaml#1:merge',
    ]);
  });

  it('a patch in an earlier layer does not see objects of later layers', async () => {
    const result = await renderFiles({
      'global/p.yaml': patch('target: { kind: Deployment, name: web }\nmerge: { spec: { replicas: 1 } }\n'),
      'clusters/prod-hz/web.yaml': deployment,
    });
    expect(result.ok).toBe(false);
  });
});

describe('cluster selector and variables', () => {
  const selected = (selector: string) =>
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  annotations:\n    strata.dev/cluster-selector: "${selector}"\n    keep: "yes"\n`;

  it('keeps an object on matching clusters and removes the annotation from the output', async () => {
    const result = await renderOk({ 'global/a.yaml': selected('env=prod,tier notin (edge)') });
    expect(result.objects[0]!.object.metadata.annotations).toEqual({ keep: 'yes' });
  });

  it('drops an object on clusters the selector does not match', async () => {
    const result = await renderOk({ 'global/a.yaml': selected('env=staging') });
    expect(result.objects).toEqual([]);
    expect(result.dropped[0]).toMatchObject({
      id: '/ConfigMap//a',
      reason: 'cluster-selector does not match',
    });
  });

  it('allows the same identity twice in a layer when selectors keep only one', async () => {
    const variant = (sel: string, v: string) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  annotations: { strata.dev/cluster-selector: "${sel}" }\ndata: { v: ${v} }\n---\n`;
    const result = await renderOk({
      'global/a.yaml': variant('env=prod', 'prod') + variant('env!=prod', 'other'),
    });
    expect(result.objects.map((o) => o.object.data)).toEqual([{ v: 'prod' }]);
  });

  it('replaces ${cluster.name} and ${cluster.labels.KEY}, and $${ stays a literal ${', async () => {
    const result = await renderOk({
      'global/a.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: "info-${cluster.name}" }\ndata:\n  region: "${cluster.labels.region}"\n  literal: "$${cluster.name}"\n  shell: "echo ${HOME}"\n',
    });
    expect(result.objects[0]!.id).toBe('/ConfigMap//info-prod-hz');
    expect(result.objects[0]!.object.data).toEqual({
      region: 'cn-hangzhou',
      literal: '${cluster.name}',
      shell: 'echo ${HOME}',
    });
  });
});

describe('determinism and parse cache', () => {
  const files = {
    'global/web.yaml': deployment,
    'global/z.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: "c-${cluster.name}" }\n',
    'regions/cn-hangzhou/p.yaml': patch('target: { kind: Deployment }\nmerge: { spec: { replicas: 5 } }\n'),
  };

  it('renders byte-identical output for the same inputs', async () => {
    const dir = writeRepo(files);
    const a = await renderCluster(new FolderTree(dir), hz);
    const b = await renderCluster(new FolderTree(dir), {
      name: 'prod-hz',
      labels: { env: 'prod', region: 'cn-hangzhou' },
    });
    if (!a.ok || !b.ok) throw new Error('render failed');
    expect(toYamlStream(b.objects)).toBe(toYamlStream(a.objects));
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });

  it('createRenderer reads each file once for many clusters, and their objects are independent', async () => {
    const tree = new FolderTree(writeRepo(files));
    const reads: string[] = [];
    const counting: FileTree = {
      description: tree.description,
      list: (d) => tree.list(d),
      readLink: (p) => tree.readLink(p),
      read: (p, max) => {
        reads.push(p);
        return tree.read(p, max);
      },
    };
    const renderer = createRenderer(counting);
    const results = await Promise.all(
      ['a', 'b', 'c'].map((name) => renderer.render({ name, labels: { region: 'cn-hangzhou' } })),
    );
    expect(reads.sort()).toEqual(['global/web.yaml', 'global/z.yaml', 'regions/cn-hangzhou/p.yaml']);
    const names = results.map((r) => (r.ok ? r.objects.map((o) => o.object.metadata.name) : []));
    expect(names).toEqual([
      ['web', 'c-a'],
      ['web', 'c-b'],
      ['web', 'c-c'],
    ]);
    const [first, second] = results;
    if (!first?.ok || !second?.ok) throw new Error('render failed');
    first.objects[0]!.object.metadata.name = 'changed';
    expect(second.objects[0]!.object.metadata.name).toBe('web');
  });

  it('shareObjects hands unpatched objects out frozen and shared, patched ones as new objects', async () => {
    const renderer = createRenderer(new FolderTree(writeRepo(files)), { shareObjects: true });
    const [a, b] = await Promise.all([renderer.render(hz), renderer.render({ name: 'x', labels: {} })]);
    if (!a?.ok || !b?.ok) throw new Error('render failed');
    const webA = a.objects.find((o) => o.id === 'apps/Deployment/shop/web')!.object;
    const webB = b.objects.find((o) => o.id === 'apps/Deployment/shop/web')!.object;
    expect(webA).not.toBe(webB);
    expect(Object.isFrozen(webB)).toBe(true);
    expect(() => {
      webB.metadata.name = 'changed';
    }).toThrow(TypeError);
    expect((webA as unknown as { spec: { replicas: number } }).spec.replicas).toBe(5);
    const again = await renderer.render({ name: 'y', labels: {} });
    if (!again.ok) throw new Error('render failed');
    expect(again.objects.find((o) => o.id === 'apps/Deployment/shop/web')!.object).toBe(webB);
  });

  it('a shared parse cache parses a file with the same path and content once across renderers', async () => {
    const base = writeRepo(files);
    const head = writeRepo({
      ...files,
      'global/z.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: changed }\n',
    });
    const reads: string[] = [];
    const cache = createParseCache();
    for (const dir of [base, head]) {
      const renderer = createRenderer(new FolderTree(dir), { parseCache: cache });
      const result = await renderer.render(hz);
      if (!result.ok) throw new Error('render failed');
      reads.push(result.objects.map((o) => o.object.metadata.name).join(','));
    }
    expect(reads).toEqual(['web,c-prod-hz', 'web,changed']);
    expect([...cache.keys()].map((k) => k.split('\0')[0]).sort()).toEqual([
      'global/web.yaml',
      'global/z.yaml',
      'global/z.yaml',
      'regions/cn-hangzhou/p.yaml',
    ]);
  });
});
