import { describe, expect, it } from 'vitest';
import { DEFAULT_LAYERS, parseTemplate, resolveLayers } from '../../../agent/src/render/layers.js';
import { objectById, renderFiles, renderOk } from './helpers.js';

const cm = (name: string, value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name}, namespace: default }\ndata: { v: ${value} }\n`;

describe('layer resolution', () => {
  it('uses global → regions/{labels.region} → clusters/{name} by default', () => {
    const { layers } = resolveLayers({ layers: DEFAULT_LAYERS }, { name: 'a', labels: { region: 'r1' } });
    expect(layers).toEqual([
      { template: 'global', dir: 'global' },
      { template: 'regions/{labels.region}', dir: 'regions/r1' },
      { template: 'clusters/{name}', dir: 'clusters/a' },
    ]);
  });

  it('skips a layer whose template names a label the cluster lacks, and says why', () => {
    const { layers } = resolveLayers({ layers: DEFAULT_LAYERS }, { name: 'a', labels: {} });
    expect(layers).toEqual([
      { template: 'global', dir: 'global' },
      { template: 'regions/{labels.region}', reason: "cluster has no label 'region'" },
      { template: 'clusters/{name}', dir: 'clusters/a' },
    ]);
  });

  it('refuses a label value that would climb out of the layer folder, as a misconfigured cluster', () => {
    const { layers, misconfigured } = resolveLayers(
      { layers: DEFAULT_LAYERS },
      { name: '..', labels: { region: 'a/b' } },
    );
    expect(layers[0]).toEqual({ template: 'global', dir: 'global' });
    expect(misconfigured.map((m) => m.problem)).toEqual([
      "cluster '..' has label 'region' = 'a/b', which cannot name a folder for layer 'regions/{labels.region}'",
      "cluster '..' has its name = '..', which cannot name a folder for layer 'clusters/{name}'",
    ]);
  });

  it('fails the render when a label value cannot name a folder, naming the label, the cluster and the layer', async () => {
    const result = await renderFiles(
      {
        'strata.yaml':
          'apiVersion: strata.dev/v1\nkind: Fleet\nlayers:\n  - path: global\n  - path: regions/{labels.region}\n',
        'global/a.yaml': cm('a', 'global'),
        'etc/a.yaml': cm('b', 'stolen'),
      },
      { name: 'prod-hz', labels: { region: '../etc' } },
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => [e.code, e.file, e.line, e.column, e.message])).toEqual([
      [
        'config',
        'strata.yaml',
        5,
        11,
        "cluster 'prod-hz' has label 'region' = '../etc', which cannot name a folder for layer 'regions/{labels.region}'; fix the cluster's identity or the layer path",
      ],
    ]);
  });

  it.each([['regions/{labels.region'], ['regions/{region}'], ['../outside'], ['/abs'], ['a/{labels.}']])(
    'rejects the malformed template %s',
    (template) => {
      expect(() => parseTemplate(template)).toThrow();
    },
  );

  it('later layers win: a cluster layer replaces the global definition', async () => {
    const result = await renderOk({
      'global/a.yaml': cm('a', 'global'),
      'clusters/prod-hz/a.yaml': cm('a', 'cluster'),
    });
    const a = objectById(result, '/ConfigMap/default/a');
    expect(a.object.data).toEqual({ v: 'cluster' });
    expect(a.provenance.layer).toBe('clusters/prod-hz');
    expect(a.provenance.replaced).toEqual([{ layer: 'global', file: 'global/a.yaml', doc: 0, line: 1 }]);
  });

  it('follows the layers strata.yaml declares, in its order', async () => {
    const result = await renderOk({
      'strata.yaml':
        'apiVersion: strata.dev/v1\nkind: Fleet\nlayers:\n  - path: base\n  - path: envs/{labels.env}\n',
      'base/a.yaml': cm('a', 'base'),
      'envs/prod/a.yaml': cm('a', 'prod'),
      'global/b.yaml': cm('b', 'ignored'),
    });
    expect(result.objects.map((o) => o.id)).toEqual(['/ConfigMap/default/a']);
    expect(result.objects[0]!.object.data).toEqual({ v: 'prod' });
    expect(result.layers).toEqual([
      { template: 'base', dir: 'base', used: true },
      { template: 'envs/{labels.env}', dir: 'envs/prod', used: true },
    ]);
  });

  it('reports a malformed template in strata.yaml with its line', async () => {
    const result = await renderFiles({
      'strata.yaml':
        'apiVersion: strata.dev/v1\nkind: Fleet\nlayers:\n  - path: global\n  - path: regions/{labels.region\n',
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors[0]).toMatchObject({ code: 'config', file: 'strata.yaml', doc: 0, line: 5 });
  });

  describe('a layer default namespace', () => {
    const fleet = (ns: string) =>
      `apiVersion: strata.dev/v1\nkind: Fleet\nlayers:\n  - path: global\n  - path: vendor/argocd\n    namespace: ${ns}\n`;
    const vendor = [
      'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: argocd-cm }\n',
      'apiVersion: v1\nkind: Service\nmetadata: { name: keep, namespace: elsewhere }\n',
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: { name: argocd-server }\n',
      'apiVersion: v1\nkind: Namespace\nmetadata: { name: argocd }\n',
      'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: { name: appprojects.argoproj.io }\nspec:\n  group: argoproj.io\n  scope: Cluster\n  names: { kind: AppProject, plural: appprojects }\n',
      'apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: { name: default-project }\n',
      'apiVersion: example.com/v1\nkind: Widget\nmetadata: { name: w }\n',
    ].join('---\n');

    it('goes to namespaced objects without one, as kubectl -n does; cluster-scoped kinds and explicit namespaces are kept', async () => {
      const result = await renderOk({
        'strata.yaml': fleet('argocd'),
        'global/a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: g }\n',
        'vendor/argocd/install.yaml': vendor,
      });
      expect(result.objects.map((o) => o.id).sort()).toEqual([
        '/ConfigMap//g',
        '/ConfigMap/argocd/argocd-cm',
        '/Namespace//argocd',
        '/Service/elsewhere/keep',
        'apiextensions.k8s.io/CustomResourceDefinition//appprojects.argoproj.io',
        'argoproj.io/AppProject//default-project',
        'example.com/Widget/argocd/w',
        'rbac.authorization.k8s.io/ClusterRole//argocd-server',
      ]);
      expect(objectById(result, '/ConfigMap/argocd/argocd-cm').object.metadata).toEqual({
        name: 'argocd-cm',
        namespace: 'argocd',
      });
    });

    it('takes a discovery answer for kinds the OpenAPI table does not know', async () => {
      const { renderCluster } = await import('../../../agent/src/render/index.js');
      const { FolderTree } = await import('../../../agent/src/source/folder.js');
      const { writeRepo, hz } = await import('./helpers.js');
      const tree = new FolderTree(
        writeRepo({ 'strata.yaml': fleet('argocd'), 'vendor/argocd/install.yaml': vendor }),
      );
      const result = await renderCluster(tree, hz, {
        scopeOf: (apiVersion, kind) =>
          apiVersion === 'example.com/v1' && kind === 'Widget' ? 'Cluster' : undefined,
      });
      if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
      expect(result.objects.map((o) => o.id)).toContain('example.com/Widget//w');
    });

    it('must be a namespace name', async () => {
      const result = await renderFiles({ 'strata.yaml': fleet('Argo_CD'), 'global/a.yaml': cm('a', 'x') });
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.errors.map((e) => [e.file, e.line, e.message])).toEqual([
        [
          'strata.yaml',
          6,
          "layers[1].namespace must be a namespace name (lower-case letters, digits and '-', at most 63)",
        ],
      ]);
    });
  });
});
